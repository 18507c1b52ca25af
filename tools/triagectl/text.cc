#include "tools/triagectl/text.h"

namespace safeguarding::tools {

char32_t DecodeUtf8(absl::string_view text, size_t* i) {
  const auto lead = static_cast<unsigned char>(text[*i]);
  int length = 1;
  char32_t cp = lead;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
    cp = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    cp = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    cp = lead & 0x07;
  } else if (lead >= 0x80) {
    ++*i;
    return kInvalidCodePoint;
  }
  if (*i + length > text.size()) {
    ++*i;
    return kInvalidCodePoint;
  }
  for (int j = 1; j < length; ++j) {
    const auto c = static_cast<unsigned char>(text[*i + j]);
    if ((c & 0xC0) != 0x80) {
      ++*i;
      return kInvalidCodePoint;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  static constexpr char32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kSmallest[length] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++*i;
    return kInvalidCodePoint;
  }
  *i += length;
  return cp;
}

void AppendUtf8(std::string* out, char32_t cp) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool IsUnsafeForDisplay(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) ||                    // C0, DEL, C1
         cp == 0x061C || cp == 0x200E || cp == 0x200F ||               // bidi marks
         (cp >= 0x200B && cp <= 0x200D) || cp == 0xFEFF ||             // zero-width
         (cp >= 0x2028 && cp <= 0x202E) ||                             // separators, embeddings
         (cp >= 0x2060 && cp <= 0x2069) ||                             // invisibles, isolates
         (cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE ||  // noncharacters
         (cp >= 0xFFF9 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE007F);  // tags
}

std::string CleanText(absl::string_view text, bool unicode, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const char32_t cp = DecodeUtf8(text, &i);
    if (keep_lines && (cp == '\n' || cp == '\t')) {
      out.push_back(static_cast<char>(cp));
    } else if (cp == kInvalidCodePoint || IsUnsafeForDisplay(cp)) {
      out += unicode ? kReplacementCharacter : "?";
    } else if (!unicode && cp >= 0x80) {
      out += '?';
    } else {
      AppendUtf8(&out, cp);
    }
  }
  return out;
}

}  // namespace safeguarding::tools
