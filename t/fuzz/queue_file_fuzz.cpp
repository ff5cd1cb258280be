// parse_queue_file and for_each_content_line: never crash; offsets reported
// lie inside the input and point at the records they name; marking a
// recipient done in place changes nothing else; a file cut before its
// content end never parses.
#include "fuzz_util.hpp"
#include "mail/queue_file.hpp"

#include <cstddef>
#include <cstdint>

using namespace kurir::mail;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    auto loose = parse_queue_file(in, RecipientsRequired::no);
    auto env = parse_queue_file(in);
    FUZZ_CHECK(!env || loose);  // requiring recipients only rejects more
    if (loose && !env) FUZZ_CHECK(loose->recipients.empty());
    if (!env) return 0;
    FUZZ_CHECK(!env->recipients.empty());
    FUZZ_CHECK(env->content_offset <= env->content_end);
    FUZZ_CHECK(env->content_end < size);
    FUZZ_CHECK(in[env->content_end] == rec::content_end);
    FUZZ_CHECK(env->content_offset > 0 && env->content_offset <= size);
    for (const auto& r : env->recipients) {
        FUZZ_CHECK(r.offset < env->content_offset);
        FUZZ_CHECK(in[r.offset] == (r.done ? rec::done : rec::rcpt));
        FUZZ_CHECK(!r.address.empty());
        size_t pos = r.offset;
        RecView rv;
        FUZZ_CHECK(rec_next(in, pos, rv) == RecStatus::ok);
        FUZZ_CHECK(rv.data == r.address);
    }
    size_t lines = 0, bytes = 0;
    auto ok = for_each_content_line(in, *env, [&](std::string_view l) {
        ++lines;
        bytes += l.size();
    });
    FUZZ_CHECK(ok);
    // The P fields come first, each a well-formed header field; then the
    // content's lines, within its records.
    size_t prepended = 0;
    for (const auto& field : env->prepended) {
        FUZZ_CHECK(is_prepend_field(field));
        prepended += field.size();
    }
    FUZZ_CHECK(bytes <= prepended + env->content_end - env->content_offset);

    // Flip each pending recipient to done, as mark_recipient_done does.
    std::string copy(in);
    for (const auto& r : env->recipients)
        if (!r.done) copy[r.offset] = rec::done;
    auto done = parse_queue_file(copy);
    FUZZ_CHECK(done);
    FUZZ_CHECK(done->recipients.size() == env->recipients.size());
    for (size_t i = 0; i < env->recipients.size(); ++i) {
        FUZZ_CHECK(done->recipients[i].done);
        FUZZ_CHECK(done->recipients[i].address == env->recipients[i].address);
        FUZZ_CHECK(done->recipients[i].original == env->recipients[i].original);
        FUZZ_CHECK(done->recipients[i].offset == env->recipients[i].offset);
        FUZZ_CHECK(done->recipients[i].defer_reason == env->recipients[i].defer_reason);
    }
    FUZZ_CHECK(done->sender == env->sender && done->attrs == env->attrs);
    FUZZ_CHECK(done->content_offset == env->content_offset && done->content_end == env->content_end);

    // Truncated before the end of content: never a queue file.
    FUZZ_CHECK(!parse_queue_file(in.substr(0, env->content_end)));
    FUZZ_CHECK(!parse_queue_file(in.substr(0, env->content_end + 1)));
    return 0;
}
