// The libraries of the indexed table types: Berkeley DB (hash:, btree:),
// LMDB (lmdb:) and tinycdb (cdb:). The daemons load each with dlopen when a
// table of its type is first opened or built, not when they start: a
// library's relocated data is private memory in every process that maps it
// (Berkeley DB's alone is 40 KB), and most processes (by default every
// cleanup, qmgr and master) open no such table. table_libraries.cpp
// defines the functions the table code calls as forwarders to the loaded
// library; the statically linked programs (sendmail, kurir-drop) link the
// libraries themselves and get table_libraries_static.cpp. Tables are
// opened when first used, which in a chrooted daemon is inside the queue
// directory: server.cpp loads all three before the chroot.
#pragma once

#include "util/result.hpp"

namespace kurir::util {

// Each loads its library once per process (later calls give the first
// answer): every function its forwarders need found, or an error naming
// what is missing. Called before a table of the type is opened or built; a
// forwarder called without it loads the library itself, and ends the
// process with the error if it cannot.
const Result<void>& load_berkeley_db();
const Result<void>& load_lmdb();
const Result<void>& load_cdb();

}  // namespace kurir::util
