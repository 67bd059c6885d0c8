#pragma once

// UTF-8 validity, shared by the readers of exported text and the checks of user-given text.

#include <cstddef>
#include <string_view>

namespace phytoflow {

// Length (2 to 4) of the valid multi-byte UTF-8 sequence starting at `at` (no overlong forms,
// no surrogates, nothing above U+10FFFF), or 0 if there is none. ASCII bytes give 0 too.
size_t Utf8SequenceLength(std::string_view text, size_t at);

// True when every byte of `text` belongs to a valid UTF-8 sequence.
bool IsValidUtf8(std::string_view text);

}  // namespace phytoflow
