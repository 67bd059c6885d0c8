#pragma once

// SVG plots of the OSPAR indicators (indicators.h), written as plain SVG 1.1 text so that no
// plotting library is needed; they open in any browser and embed in reports. Each function
// returns a whole document ("<?xml ...><svg ...>...</svg>").
//
//   WriteFile("ph1.svg", Ph1EnvelopeSvg(ph1, "PH1 station W08"));

#include "phytoflow/products/indicators.h"

#include <string>
#include <string_view>

namespace phytoflow {

// One panel per lifeform pair, as the PLET tool draws it (plot_env): the outer envelope filled
// grey, the inner one white, the reference months as grey rings, the comparison months filled by
// season (Dec–Feb blue, Mar–May green, Jun–Aug yellow, Sep–Nov red) and joined in time order by a
// dashed line; the caption gives PI, the periods, the points, the binomial probability and χ².
// A pair without an envelope gets a panel that says why.
std::string Ph1EnvelopeSvg(const Ph1Result& result, std::string_view title);

// The monthly anomalies over time, as PelHabMSFD's plotAnomalies draws them: bands between the
// minimum and maximum, the 2.5 and 97.5 % and the 25 and 75 % quantiles, dashed threshold lines,
// each month a cross coloured by its class, and a vertical line where the comparison starts.
std::string Ph2AnomalySvg(const Ph2Result& result, std::string_view title);

// Menhinick, Hulburt, Shannon and Pielou per sampled month (thin line and dots) with their
// annual means (thick line), one panel each, as PelHabMSFD's indicesGraph and the QSR figures.
std::string Ph3IndexSvg(const Ph3Result& result, std::string_view title);

}  // namespace phytoflow
