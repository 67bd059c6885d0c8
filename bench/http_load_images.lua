-- wrk script for bench/http_load.sh: GET the vignettes of one sample, spread over its particle
-- numbers, so that the load is not one cached response. PHYTOFLOW_SAMPLE names the sample,
-- PHYTOFLOW_PARTICLES its particle count (numbers 1..N).

local sample = os.getenv("PHYTOFLOW_SAMPLE")
local particles = tonumber(os.getenv("PHYTOFLOW_PARTICLES") or "1000")
local thread_index = 0

function setup(thread)
  thread:set("offset", thread_index * 500)
  thread_index = thread_index + 1
end

local counter = 0

function request()
  counter = counter + 1
  -- A prime stride visits every number before repeating one; threads start apart.
  local number = ((offset or 0) + counter * 7919) % particles + 1
  return wrk.format("GET", "/api/v1/samples/" .. sample .. "/particles/" .. number .. "/image.png")
end
