#pragma once

// Text inside XML and SVG documents (eml.xml, meta.xml, the SVG heat maps and indicator plots).

#include <string>
#include <string_view>

namespace phytoflow {

// `text` with the five characters XML reserves written as entities (&amp; &lt; &gt; &quot;
// &apos;), so it is safe in element content and in attribute values of either quote.
std::string XmlEscape(std::string_view text);

}  // namespace phytoflow
