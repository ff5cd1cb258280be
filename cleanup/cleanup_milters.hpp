// non_smtpd_milters: the milters for mail that did not come from smtpd
// (sendmail through pickup, mail that local forwards), asked by cleanup
// once the queue file is complete and before it is committed. cleanup
// serves one client at a time, so the conversation blocks (each step's
// whole answer bounded by its milter_*_timeout, mail/milter_limits.hpp,
// as are the edits), over the same codec as smtpd's
// (mail/milter_proto.hpp): connect as localhost [127.0.0.1], HELO
// localhost, MAIL, each RCPT, DATA, the header fields (cleanup's own
// Received: among them), end of header, the body, end of message. The
// verdicts and milter_default_action are smtpd's; a refusal goes back to
// the client as header_checks' REJECT does (pickup returns the mail to
// its sender), a tempfail leaves it where it was, the edits are applied
// as smtpd_milters' are (cleanup_milter_edits.hpp).
#pragma once

#include "cleanup/cleanup_file.hpp"
#include "mail/mail_proto.hpp"
#include "server/server.hpp"
#include "util/result.hpp"

#include <optional>
#include <string>

namespace kurir::cleanup {

// nullopt: the message goes on (file may now be the edited one, hold set
// by a quarantine); else the answer to give instead of committing it.
util::Result<std::optional<mail::proto::CleanupReply>> apply_non_smtpd_milters(server::ServerContext& ctx,
                                                                              const std::string& id,
                                                                              IncomingFile& file, bool& hold);

}  // namespace kurir::cleanup
