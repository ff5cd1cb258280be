// trivial-rewrite's service: one rewrite-request frame in, one rewrite-reply
// or resolve-reply frame out (mail/mail_proto.hpp). A frame that is not a
// well-formed rewrite-request is an error naming what is wrong; the caller
// logs it and closes the connection.
#pragma once

#include "mail/config.hpp"
#include "mail/maps.hpp"
#include "util/attr.hpp"
#include "util/result.hpp"

namespace kurir::trivial_rewrite {

util::Result<util::Attrs> answer(const mail::Config& cfg, mail::WatchedMaps& transport_maps, const util::Attrs& frame);

}  // namespace kurir::trivial_rewrite
