-- Replays a pre-generated corpus of raw HTTP requests (written by bench/_corpus.py) in order, never
-- reusing an id: request k is corpus record k mod n with its pass tag set to pass k // n (see _corpus.py).
-- Counts every answer's status and prints them at the end as "statuses: <status>=<count> ...".
-- Usage: wrk -s bench/wrk_replay.lua ... -- <corpus file> <first pass> <seed>
local reqs = {}
local n = 0
local k = 0
local seed = 1
local tag0 = ""
statuses = {}

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
  k = tonumber(args[2] or "0") * n
  seed = tonumber(args[3] or "1")
  tag0 = string.format("bench%dp%04d%%-", seed, 0)  -- a Lua pattern: "-" escaped
end

function request()
  local pass = math.floor(k / n)
  local raw = reqs[(k % n) + 1]
  k = k + 1
  if pass == 0 then return raw end
  return (string.gsub(raw, tag0, string.format("bench%dp%04d-", seed, pass)))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format("%d=%d", status, count))
  end
  table.sort(parts)
  io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
