-- wrk script for scripts/bench/gateway_dpop.sh: every request carries its own pre-made DPoP
-- proof (a proof is single-use). Thread i takes every nth line of $PROOFS, so no two threads
-- send the same proof; when a thread runs out it starts over (those replays are refused with
-- 401 and show as non-2xx: make more proofs).
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

function init(args)
  proofs = {}
  local line_no = 0
  local n = tonumber(os.getenv("WRK_THREADS") or "2")
  for line in io.lines(os.getenv("PROOFS")) do
    if line_no % n == id then
      proofs[#proofs + 1] = line
    end
    line_no = line_no + 1
  end
  authorization = "DPoP " .. os.getenv("TOKEN")
  next_proof = 0
end

function request()
  next_proof = next_proof % #proofs + 1
  return wrk.format("GET", nil, { ["Authorization"] = authorization, ["DPoP"] = proofs[next_proof] }, nil)
end
