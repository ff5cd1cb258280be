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
// A master.cf service's own limit, as Postfix takes them for any service:
// SERVICE_destination_concurrency_limit and SERVICE_destination_recipient_limit
// (integers, read by qmgr) and SERVICE_time_limit (a time, read by pipe),
// where SERVICE is a name without '_'. The spec's name is the suffix's
// default parameter. nullptr for any other name.
const ParamSpec* per_service_param(std::string_view name, std::string_view* service = nullptr);

}  // namespace kurir::mail
