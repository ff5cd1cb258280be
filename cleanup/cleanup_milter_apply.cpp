// cleanup_milter_edits.hpp: the edits applied to the queue file on disk.
#include "cleanup/cleanup_milter_edits.hpp"

#include "util/log.hpp"

namespace kurir::cleanup {

using mail::MilterEdit;

util::Result<void> apply_milter_edits(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                      const std::vector<std::string>& edits, bool& hold) {
    std::vector<MilterEdit> decoded;
    for (const auto& e : edits) {
        auto d = mail::decode_milter_edit(e);
        if (!d) return std::unexpected(d.error());
        decoded.push_back(std::move(*d));
    }
    return apply_milter_edits(ctx, id, file, decoded, true, hold);
}

util::Result<void> apply_milter_edits(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                      const std::vector<MilterEdit>& decoded, bool skip_first_field, bool& hold) {
    auto bytes = file.read_all();
    if (!bytes) return std::unexpected(bytes.error());
    auto edited = edit_queue_file(*bytes, decoded, skip_first_field,
                                  static_cast<size_t>(ctx.config.integer("line_length_limit")));
    if (!edited) return util::fail(id + ": milter edits: " + edited.error().text);
    if (edited->recipients == 0) return util::fail(id + ": milter edits: no recipients left");
    // The first goes, never committed, before its copy is made: where there
    // is no O_TMPFILE both would want the same temp name.
    file.discard();
    auto second = IncomingFile::create(ctx.queue.dir(mail::Queue::incoming), id);
    if (!second) return std::unexpected(second.error());
    file = std::move(*second);
    if (auto w = file.write(edited->bytes); !w) return w;
    if (edited->quarantine) {
        hold = true;
        util::msg_info("{}: milter-hold: {}", id, edited->reason.empty() ? "milter" : edited->reason);
    }
    return {};
}

}  // namespace kurir::cleanup
