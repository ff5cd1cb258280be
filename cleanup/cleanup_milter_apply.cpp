// cleanup_milter_edits.hpp: the edits applied to the queue file on disk.
#include "cleanup/cleanup_milter_edits.hpp"

#include "cleanup/cleanup_dkim.hpp"
#include "util/log.hpp"

#include <ctime>

namespace kurir::cleanup {

using mail::MilterEdit;

namespace {

// The file's content becomes bytes: a second incoming file, never committed
// before this one is whole.
util::Result<void> replace_file(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                std::string_view bytes) {
    // The first goes, never committed, before its copy is made: where there
    // is no O_TMPFILE both would want the same temp name.
    file.discard();
    auto second = IncomingFile::create(ctx.queue.dir(mail::Queue::incoming), id);
    if (!second) return std::unexpected(second.error());
    file = std::move(*second);
    return file.write(bytes);
}

}  // namespace

util::Result<void> apply_milter_edits(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                      const std::vector<std::string>& edits, bool& hold) {
    std::vector<MilterEdit> decoded;
    for (const auto& e : edits) {
        auto d = mail::decode_milter_edit(e);
        if (!d) return std::unexpected(d.error());
        decoded.push_back(std::move(*d));
    }
    return apply_milter_edits(ctx, id, file, decoded, hold);
}

util::Result<void> apply_milter_edits(server::ServerContext& ctx, const std::string& id, IncomingFile& file,
                                      const std::vector<MilterEdit>& decoded, bool& hold) {
    auto bytes = file.read_all();
    if (!bytes) return std::unexpected(bytes.error());
    auto edited = edit_queue_file(*bytes, decoded, static_cast<size_t>(ctx.config.integer("line_length_limit")));
    if (!edited) return util::fail(id + ": milter edits: " + edited.error().text);
    if (edited->recipients == 0) return util::fail(id + ": milter edits: no recipients left");
    if (auto w = replace_file(ctx, id, file, edited->bytes); !w) return w;
    if (edited->quarantine) {
        hold = true;
        util::msg_info("{}: milter-hold: {}", id, edited->reason.empty() ? "milter" : edited->reason);
    }
    return {};
}

util::Result<void> sign_after_milters(server::ServerContext& ctx, const std::string& id, IncomingFile& file) {
    auto bytes = file.read_all();
    if (!bytes) return std::unexpected(bytes.error());
    std::vector<std::string> log;
    auto signed_file = dkim_sign_queue_file(*bytes, dkim_keys_lookup(ctx.config), ::time(nullptr), log);
    if (!signed_file) return util::fail(id + ": " + signed_file.error().text);
    for (const auto& line : log) util::msg_info("{}: {}", id, line);
    if (*signed_file == *bytes) return {};
    return replace_file(ctx, id, file, *signed_file);
}

}  // namespace kurir::cleanup
