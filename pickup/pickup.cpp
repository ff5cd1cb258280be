// NAME
//   pickup - move locally submitted mail from maildrop to cleanup
// DESCRIPTION
//   A long-running trigger server: woken by kurir-drop through public/pickup
//   and periodically by master (its wakeup time), it reads each file in
//   maildrop/, checks it (record structure, owner, sender and recipient
//   syntax, size), streams it to cleanup with the submitter's identity, and
//   deletes it only after cleanup answered that the queue file is durable.
//   A file that fails the checks, or that cleanup refuses for good, moves to
//   corrupt/ with a log line saying why; a temporary failure leaves it for
//   the next scan.
// SECURITY
//   Runs as mail_owner. Maildrop files are written by local users through
//   kurir-drop and are hostile: the submitter is the file's owner as the file
//   system reports it, never what the file says; nothing in them is executed.
// CONFIGURATION PARAMETERS
//   queue_directory, message_size_limit, mail_owner,
//   smtputf8_autodetect_classes (with "sendmail", a submission with UTF-8 in
//   its envelope or headers gets the SMTPUTF8 request)
#include "daemons/daemons.hpp"
#include "pickup/pickup_service.hpp"
#include "server/server.hpp"

using namespace kurir;

int kurir::daemons::pickup_main(int argc, char** argv) {
    server::Hooks hooks;
    hooks.post_drop = [](server::ServerContext& ctx) { pickup::scan(ctx); };
    return server::trigger_server_main(
        argc, argv, "pickup", [](server::ServerContext& ctx, std::string_view request) {
            pickup::on_trigger(ctx, request);
            return std::string();
        },
        hooks);
}
