// sendmail's process-facing parts: the kurir-drop child it feeds, and the
// "sendmail -bs" SMTP session on standard input and output.
#pragma once

#include "mail/config.hpp"
#include "tools/sendmail_submit.hpp"

#include <sys/types.h>

#include <string>
#include <string_view>

namespace kurir::tools {

// kurir-drop -c DIR, with a pipe to its standard input.
class DropProcess {
public:
    explicit DropProcess(const std::string& config_dir);
    ~DropProcess();
    bool write(std::string_view data);
    void abort();  // close without the end record: nothing is queued
    int finish();  // close and return kurir-drop's exit status (sysexits)

private:
    pid_t pid_ = -1;
    int fd_ = -1;
};

int run_smtp_session(const SendmailOptions& opts, const std::string& config_dir, const mail::Config& cfg);

}  // namespace kurir::tools
