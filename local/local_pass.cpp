#include "local/local_pass.hpp"

#include "mail/nexthop.hpp"
#include "util/attr.hpp"
#include "util/socket.hpp"

namespace kurir::local {

mail::proto::RecipientResult pass_to_transport(const server::ServerContext& ctx,
                                               const mail::proto::DeliveryRequest& request, size_t offset,
                                               const std::string& address, const std::string& transport_spec) {
    auto fail = [&](const std::string& why) {
        return mail::proto::RecipientResult{offset, "4.3.0", "mail transport unavailable: " + why, {}, {}, {}};
    };
    auto spec = mail::parse_transport_spec(transport_spec);
    if (!spec || spec->transport.empty()) return fail("bad transport \"" + transport_spec + "\"");
    std::string path = ctx.queue.private_socket(spec->transport);
    int timeout = static_cast<int>(ctx.config.seconds("ipc_timeout"));
    auto fd = util::connect_unix(path, timeout);
    if (!fd) return fail(fd.error().text);
    util::set_io_timeout(fd->get(), timeout);
    mail::proto::DeliveryRequest handed{request.queue_id, request.sender, spec->nexthop, request.active_usec,
                                        {{offset, address}}};
    if (auto w = util::attr_write(fd->get(), mail::proto::encode(handed)); !w)
        return fail("private/" + spec->transport + ": " + w.error().text);
    auto frame = util::attr_read(fd->get());
    if (!frame) return fail("private/" + spec->transport + ": " + frame.error().text);
    auto result = mail::proto::decode_delivery_result(*frame);
    if (!result) return fail("private/" + spec->transport + ": " + result.error().text);
    if (result->recipients.size() != 1 || result->recipients[0].offset != offset)
        return fail("private/" + spec->transport + ": answer for another recipient");
    return result->recipients[0];
}

}  // namespace kurir::local
