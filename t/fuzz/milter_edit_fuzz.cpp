// F records (smtpd_milters' edits for cleanup, mail/milter_edit.hpp): what
// decodes encodes back to the same bytes, and a decoded edit applied to a
// queue file (cleanup_milter_edits) leaves a file that parses, that still
// has cleanup's own Received: and whose size record agrees.
//
// Input: the F record's data (the edit is applied as given).
#include "cleanup/cleanup_milter_edits.hpp"
#include "fuzz_util.hpp"
#include "mail/milter_edit.hpp"
#include "mail/queue_file.hpp"
#include "mail/record.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

using namespace kurir;

namespace {

std::string queue_file() {
    std::string f;
    mail::rec_append(f, mail::rec::version, "1");
    mail::rec_append(f, mail::rec::time, "1700000000 0");
    mail::rec_append(f, mail::rec::size, "000000000049");  // the content below
    mail::rec_append(f, mail::rec::sender, "s@a.test");
    mail::rec_append(f, mail::rec::rcpt, "alice@mx.test");
    mail::rec_append(f, mail::rec::rcpt, "bob@mx.test");
    mail::rec_append(f, mail::rec::message, "");
    for (const char* l : {"Received: by mx", "From: s@a.test", "Subject: hi", "", "body"}) mail::rec_append_line(f, l);
    mail::rec_append(f, mail::rec::content_end, "");
    mail::rec_append(f, mail::rec::end, "");
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);
    auto edit = mail::decode_milter_edit(s);
    if (!edit) return 0;
    FUZZ_CHECK(mail::encode_milter_edit(*edit) == s);
    static const std::string file = queue_file();
    auto edited = cleanup::edit_queue_file(file, {*edit}, 4096);
    FUZZ_CHECK(edited.has_value());
    if (edited->recipients == 0) return 0;  // cleanup refuses that file
    auto env = mail::parse_queue_file(edited->bytes);
    FUZZ_CHECK(env.has_value());
    long bytes = 0;
    size_t trace = 0;
    auto read = mail::for_each_content_line(edited->bytes, *env, [&](std::string_view l) {
        if (l == "Received: by mx") ++trace;
        bytes += static_cast<long>(l.size()) + 1;
    });
    FUZZ_CHECK(read.has_value());
    FUZZ_CHECK(trace >= 1);  // cleanup's trace header: no milter saw it, none changes or deletes it
    FUZZ_CHECK(env->content_size == bytes);
    return 0;
}
