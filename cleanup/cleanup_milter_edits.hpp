// smtpd_milters' edits (F records, mail/milter_edit.hpp) applied to a
// finished queue file: the edited file is written as a second incoming
// file that replaces the first before anything is committed, so a message
// is either the client's or the milters' whole edit, never half of it.
//
// Header fields go where Postfix puts them (mail/milter_edit.hpp): cleanup's
// own Received: on top, which no milter sees, is not counted by a change
// but is by an insert. Added recipients and a
// changed sender are taken as given (with NOTIFY and ORCPT from the ESMTP
// parameters); a deleted recipient is every recipient whose address or
// original address is the one named (case-insensitively).
#pragma once

#include "cleanup/cleanup_file.hpp"
#include "mail/config.hpp"
#include "mail/milter_edit.hpp"
#include "server/server.hpp"
#include "util/result.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kurir::cleanup {

struct EditedFile {
    std::string bytes;
    bool quarantine = false;
    std::string reason;  // the quarantine's
    size_t recipients = 0;
};

// Whether non_smtpd_milters are asked about a message of this origin
// (sendmail's and local's forwards; smtpd's mail has had smtpd_milters).
bool non_smtpd_milters_apply(const mail::Config& cfg, std::string_view origin);

// The pure part: file is a complete queue file (E record and all) whose
// first header field (cleanup's own Received:, or whatever a requeued
// message starts with) the milters did not see.
util::Result<EditedFile> edit_queue_file(std::string_view file, const std::vector<mail::MilterEdit>& edits,
                                         size_t max_piece);

// Reads file back, edits it, writes the result as a new incoming file and
// makes file that one. hold is set by a quarantine.
util::Result<void> apply_milter_edits(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                      const std::vector<std::string>& edits, bool& hold);
// The same with edits decoded (non_smtpd_milters).
util::Result<void> apply_milter_edits(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                      const std::vector<mail::MilterEdit>& edits, bool& hold);

// Signs the finished file (cleanup_dkim.hpp) once the milters' edits are
// in, for a message whose signing waited for them.
util::Result<void> sign_after_milters(server::ServerContext& ctx, const std::string& id, IncomingFile& file);

}  // namespace kurir::cleanup
