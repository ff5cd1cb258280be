// The daemons' programs: each function is the main() of the daemon of that
// name, and daemons.cpp runs the one that argv[0] names.
#pragma once

namespace kurir::daemons {

int anvil_main(int argc, char** argv);
int cleanup_main(int argc, char** argv);
int discard_main(int argc, char** argv);
int error_main(int argc, char** argv);
int lmtp_main(int argc, char** argv);
int local_main(int argc, char** argv);
int master_main(int argc, char** argv);
int pickup_main(int argc, char** argv);
int pipe_main(int argc, char** argv);
int qmgr_main(int argc, char** argv);
int smtp_main(int argc, char** argv);
int smtpd_main(int argc, char** argv);
int trivial_rewrite_main(int argc, char** argv);
int virtual_main(int argc, char** argv);

}  // namespace kurir::daemons
