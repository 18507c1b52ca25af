// Text from the server or a file, made safe for a terminal or an SVG: what triagectl
// prints of a report, a note, a name or a message could otherwise carry escape sequences
// that rewrite the screen, or bidirectional overrides that make it read as something else.
#ifndef SAFEGUARDING_TOOLS_TRIAGECTL_TEXT_H_
#define SAFEGUARDING_TOOLS_TRIAGECTL_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace safeguarding::tools {

inline constexpr char32_t kInvalidCodePoint = 0xFFFFFFFF;
inline constexpr char kReplacementCharacter[] = "\xEF\xBF\xBD";  // U+FFFD

// Decodes the code point at text[*i] and advances *i past it. A malformed sequence gives
// kInvalidCodePoint and advances one byte, so one bad byte costs one replacement character.
char32_t DecodeUtf8(absl::string_view text, size_t* i);
void AppendUtf8(std::string* out, char32_t cp);

// Controls (escape sequences, line breaks that would break a layout), bidirectional marks,
// overrides and isolates, zero-width and other invisible characters, line and paragraph
// separators, interlinear annotations, tag characters and the noncharacters.
bool IsUnsafeForDisplay(char32_t cp);

// `text` with every unsafe or malformed character replaced (U+FFFD, or '?' when not
// `unicode`, which also replaces everything beyond ASCII); `keep_lines` keeps line breaks
// and tabs (a description, a note).
std::string CleanText(absl::string_view text, bool unicode = true, bool keep_lines = false);

}  // namespace safeguarding::tools

#endif  // SAFEGUARDING_TOOLS_TRIAGECTL_TEXT_H_
