// Every main.cf parameter kurir implements, declared once: name, kind,
// default (which may refer to other parameters with $name) and lower bound.
// Postfix's names and defaults wherever the feature exists in both. A
// parameter is here only when some program reads it; one a coming feature
// will read arrives with that feature. Postfix parameters kurir does not
// implement are listed in mail/param_status, so that setting one is reported.
#pragma once

#include <span>
#include <string_view>

namespace kurir::mail {

enum class ParamKind { text, integer, time, boolean };

struct ParamSpec {
    std::string_view name;
    ParamKind kind;
    std::string_view default_value;
    long min = 0;
    char time_unit = 's';  // default unit for ParamKind::time
};

std::span<const ParamSpec> param_table();
const ParamSpec* find_param(std::string_view name);

}  // namespace kurir::mail
