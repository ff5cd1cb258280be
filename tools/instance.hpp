// What "kurir init" writes: a self-contained instance's main.cf, master.cf
// and aliases, as pure functions of the choices made.
#pragma once

#include <string>

namespace kurir::tools {

struct InstanceChoices {
    std::string dir;       // absolute
    std::string listen;    // ADDR:PORT for smtpd
    std::string hostname;  // empty: the machine's name
    std::string owner;     // mail_owner
    std::string privs;     // default_privs: the owner too when one user runs all
};

std::string instance_main_cf(const InstanceChoices& c);
std::string instance_master_cf(const InstanceChoices& c);
std::string instance_aliases();

}  // namespace kurir::tools
