#include "mail/milter_header_edit.hpp"

#include <strings.h>

#include <algorithm>

namespace kurir::mail::milter {

namespace {

// Without a copy of either: a milter may ask for some 20,000 changes, each
// a search of as many fields.
bool same_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

HeaderField milter_field(const MilterEdit& e) { return header_field_of(mail::milter_header_field(e.first, e.second)); }

}  // namespace

HeaderField header_field_of(std::string_view text) {
    size_t colon = text.find(':');
    return HeaderField{std::string(text.substr(0, colon)), std::string(text.substr(colon + 1)), false};
}

void apply_header_edit(std::vector<HeaderField>& fields, const MilterEdit& e) {
    switch (e.op) {
    case 'h': fields.push_back(milter_field(e)); return;
    case 'i':
        if (e.index < fields.size())
            fields.insert(fields.begin() + static_cast<long>(e.index), milter_field(e));
        else
            fields.push_back(milter_field(e));
        return;
    case 'm': {
        uint32_t wanted = std::max<uint32_t>(e.index, 1), seen = 0;
        size_t f = 0;
        while (f < fields.size() && (fields[f].unseen || !same_name(fields[f].name, e.first) || ++seen != wanted)) ++f;
        if (f == fields.size()) {
            if (!e.second.empty()) fields.push_back(milter_field(e));
        } else if (e.second.empty()) {
            fields.erase(fields.begin() + static_cast<long>(f));
        } else {
            fields[f] = milter_field(e);
        }
        return;
    }
    default: return;
    }
}

MilterMessage milter_view(std::string_view text, bool own_received_first, const std::vector<MilterEdit>& edits,
                          bool leading_space) {
    MilterMessage msg = split_message(text, true);
    std::vector<HeaderField> fields;
    fields.reserve(msg.headers.size() + 1);
    if (!own_received_first) fields.push_back(HeaderField{"Received", "", true});
    for (auto& [name, value] : msg.headers) fields.push_back(HeaderField{std::move(name), std::move(value), false});
    if (!fields.empty()) fields.front().unseen = true;
    std::string body;
    bool replaced = false;
    for (const auto& e : edits) {
        apply_header_edit(fields, e);
        if (e.op == 'b') {
            replaced = true;
            body += e.first;
        }
    }
    msg.headers.clear();
    for (auto& f : fields) {
        if (f.unseen) continue;
        if (!leading_space && f.rest.starts_with(' ')) f.rest.erase(0, 1);
        msg.headers.emplace_back(std::move(f.name), std::move(f.rest));
    }
    if (replaced) {  // its lines ended by CRLF, as the body of a message always is here
        msg.body.clear();
        std::string_view rest = body;
        while (!rest.empty()) {
            size_t nl = rest.find('\n');
            std::string_view line = rest.substr(0, nl);
            if (line.ends_with('\r')) line.remove_suffix(1);
            msg.body += line;
            msg.body += "\r\n";
            rest.remove_prefix(nl == std::string_view::npos ? rest.size() : nl + 1);
        }
    }
    return msg;
}

}  // namespace kurir::mail::milter
