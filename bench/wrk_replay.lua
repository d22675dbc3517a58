-- Replays a pre-generated corpus of raw HTTP requests (written by bench/_corpus.py), in order, wrapping.
-- Usage: wrk -s bench/wrk_replay.lua ... -- <corpus file> [start offset]
local reqs = {}
local n = 0
local i = 0

function init(args)
  local f = assert(io.open(args[1], "rb"))
  local data = f:read("*a")
  f:close()
  local pos = 1
  while pos <= #data do
    local nl = string.find(data, "\n", pos, true)
    local len = tonumber(string.sub(data, pos, nl - 1))
    n = n + 1
    reqs[n] = string.sub(data, nl + 1, nl + len)
    pos = nl + 1 + len
  end
  i = tonumber(args[2] or "0") % n
end

function request()
  i = i + 1
  if i > n then i = 1 end
  return reqs[i]
end
