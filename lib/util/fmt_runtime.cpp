// fmt's compiled part (vformat, vprint, float conversion, locale support),
// built from the headers Debian's libfmt-dev ships, for the programs linked
// without shared C++ libraries (sendmail and kurir-drop: see
// lib/mail/meson.build). format-inl.h holds the definitions; the templates
// that the shared library instantiates are instantiated here, so that these
// programs can use all of fmt that the others can.
#include <fmt/format-inl.h>

// The set below is fmt 9's; another major version needs it looked at again.
static_assert(FMT_VERSION >= 90000 && FMT_VERSION < 100000, "fmt_runtime.cpp is written for fmt 9");

FMT_BEGIN_NAMESPACE
namespace detail {
template locale_ref::locale_ref(const std::locale& loc);
template auto locale_ref::get<std::locale>() const -> std::locale;
template auto dragonbox::to_decimal(float x) noexcept -> dragonbox::decimal_fp<float>;
template auto dragonbox::to_decimal(double x) noexcept -> dragonbox::decimal_fp<double>;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<char>;
template auto decimal_point_impl(locale_ref) -> char;
template auto thousands_sep_impl(locale_ref) -> thousands_sep_result<wchar_t>;
template auto decimal_point_impl(locale_ref) -> wchar_t;
template void vformat_to(buffer<char>&, string_view, basic_format_args<FMT_BUFFER_CONTEXT(char)>, locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
