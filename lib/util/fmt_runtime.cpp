// fmt's compiled part (vformat, vprint, float conversion, ...), built from
// the headers Debian's libfmt-dev ships, for the programs linked without
// shared C++ libraries (sendmail and kurir-drop: see lib/mail/meson.build).
// format-inl.h holds the definitions; the templates the library itself
// instantiates for char are instantiated here.
#include <fmt/format-inl.h>

FMT_BEGIN_NAMESPACE
namespace detail {
template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
