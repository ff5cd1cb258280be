#include "mail/sasl_client.hpp"

#include "mail/address.hpp"
#include "mail/sasl.hpp"

#include <algorithm>

namespace kurir::mail {

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

}  // namespace

util::Result<SaslSecurityOptions> parse_sasl_security_options(const std::vector<std::string>& words) {
    SaslSecurityOptions out;
    for (const auto& w : words) {
        std::string word = lowercase(w);
        if (word == "noplaintext") out.noplaintext = true;
        else if (word == "noanonymous") out.noanonymous = true;
        else if (word == "noactive") out.noactive = true;
        else if (word == "nodictionary") out.nodictionary = true;
        else if (word == "mutual_auth") out.mutual_auth = true;
        else return util::fail("unknown SASL security option: " + w);
    }
    return out;
}

std::vector<std::string> filter_sasl_mechanisms(std::string_view announced, const std::vector<std::string>& filter) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos < announced.size()) {
        size_t end = announced.find_first_of(" \t", pos);
        if (end == std::string_view::npos) end = announced.size();
        std::string mech = upper(announced.substr(pos, end - pos));
        pos = end + 1;
        if (mech.empty()) continue;
        bool allowed = filter.empty() ||
                       std::any_of(filter.begin(), filter.end(), [&](const std::string& f) { return upper(f) == mech; });
        if (allowed && std::find(out.begin(), out.end(), mech) == out.end()) out.push_back(mech);
    }
    return out;
}

std::optional<std::string> choose_sasl_mechanism(const std::vector<std::string>& offered,
                                                 const SaslSecurityOptions& options) {
    if (options.noplaintext) return std::nullopt;  // PLAIN and LOGIN are all kurir speaks
    for (const char* mech : {"PLAIN", "LOGIN"})
        if (std::find(offered.begin(), offered.end(), mech) != offered.end()) return std::string(mech);
    return std::nullopt;
}

std::vector<std::string> sasl_password_keys(std::string_view sender, bool sender_dependent, std::string_view host,
                                            std::string_view nexthop) {
    std::vector<std::string> keys;
    auto add = [&](std::string key) {
        if (!key.empty() && std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(std::move(key));
    };
    if (sender_dependent && !sender.empty()) {
        add(lowercase(sender));
        std::string_view domain = domain_part(sender);
        if (!domain.empty()) add("@" + lowercase(domain));
    }
    add(lowercase(host));
    add(lowercase(nexthop));
    return keys;
}

SaslLogin parse_sasl_login(std::string_view value) {
    size_t colon = value.find(':');
    if (colon == std::string_view::npos) return {std::string(value), ""};
    return {std::string(value.substr(0, colon)), std::string(value.substr(colon + 1))};
}

SaslClientExchange::SaslClientExchange(std::string mechanism, SaslLogin login)
    : mechanism_(std::move(mechanism)), login_(std::move(login)) {}

std::string SaslClientExchange::command() const {
    if (mechanism_ == "PLAIN") {
        std::string plain;
        plain += '\0';
        plain += login_.username;
        plain += '\0';
        plain += login_.password;
        return "AUTH PLAIN " + base64_encode(plain);
    }
    return "AUTH " + mechanism_;
}

util::Result<std::string> SaslClientExchange::respond(std::string_view challenge) {
    // A server may send "334 " with nothing after it; "=" is no text too.
    auto decoded = challenge.empty() || challenge == "=" ? util::Result<std::string>("") : base64_decode(challenge);
    if (!decoded) return util::fail("malformed SASL challenge from server: " + decoded.error().text);
    int step = step_++;
    if (mechanism_ == "LOGIN" && step == 0) return base64_encode(login_.username);
    if (mechanism_ == "LOGIN" && step == 1) return base64_encode(login_.password);
    return util::fail("unexpected SASL challenge from server");
}

}  // namespace kurir::mail
