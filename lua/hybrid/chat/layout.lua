-- The one text format of a chat buffer. A turn reads the same whether its answer streamed in
-- just now (stream.lua appends these pieces in order) or was reopened from its saved file
-- (M.saved lays out the same pieces at once). Pure: text in, lines out, no buffer.
local M = {}

M.PROMPT = '## You' -- the header the user writes a message under
M.PENDING = '## …' -- an answer's header until the host says who answers

-- An answer line longer than this (bytes) goes on in the next buffer line. Appending each
-- flush to one endless line would copy that line (and keep an undo copy of it) every time,
-- which grows quadratically: 10 MB without a newline stalled the editor for seconds. The
-- saved chat and the history keep the text as it came.
M.LONG_LINE = 1000

function M.split(text) return vim.split(text, '\n', { plain = true }) end

--- `lines` with none longer than LONG_LINE, cut between characters; the first continues a
--- buffer line that already holds `col` bytes.
function M.wrap_long(lines, col)
  local out = {}
  for i, line in ipairs(lines) do
    local room, pos = M.LONG_LINE - (i == 1 and col or 0), 1
    while #line - pos + 1 > room do
      local cut = pos -- the first byte of the next piece
      if room > 0 then
        cut = pos + room
        cut = cut + vim.str_utf_start(line, cut)
      end
      table.insert(out, line:sub(pos, cut - 1))
      pos, room = cut, M.LONG_LINE
    end
    table.insert(out, pos == 1 and line or line:sub(pos))
  end
  return out
end

--- The lines of a user's message under its PROMPT header.
function M.message(text) return M.wrap_long(M.split(text), 0) end

local function tokens(n)
  n = tonumber(n) or 0
  return n < 1000 and tostring(n) or ('%.1fk'):format(n / 1000)
end

--- The one line under a message for an attachment (an item of the host's `attachments` event,
--- or of a saved turn): its name, what it is, its size, and `local-only` when it is sensitive.
function M.attachment(item)
  local parts = { '> ' .. item.name }
  local arg = item.name:match('^#%a+:(.*)$')
  if item.display and item.display ~= '' and item.display ~= arg then
    local first = tonumber(item.first)
    local last = first and first + math.max((tonumber(item.lines) or 1) - 1, 0)
    table.insert(parts, first and ('%s:%d-%d'):format(item.display, first, last) or item.display)
  end
  if item.error then
    table.insert(parts, 'not read: ' .. item.error:gsub('^' .. vim.pesc(item.name) .. ':%s*', ''))
  elseif (item.text or '') == '' and item.note then
    table.insert(parts, item.note)
  else
    table.insert(parts, ('%d line%s'):format(item.lines or 0, item.lines == 1 and '' or 's'))
    table.insert(parts, '~' .. tokens(item.tokens) .. ' tokens')
  end
  if item.local_only then table.insert(parts, 'local-only') end
  return table.concat(parts, ' · ')
end

--- An answer's header: who answers and why, or why nothing was sent.
function M.header(who)
  if who.backend then return ('## %s · %s · %s · %s'):format(who.kind, who.backend, who.model, who.reason) end
  return ('## not sent · %s'):format(who.reason or '')
end

function M.is_answer_header(line)
  return line == M.PENDING or line:match('^## not sent · ') ~= nil or line:match('^## %a+ · ') ~= nil
end

-- How a finished answer ends, by status.
local endings = {
  cancelled = function() return '_[cancelled]_' end,
  incomplete = function(msg) return '_[incomplete: ' .. (msg or 'the stream ended early') .. ']_' end,
  error = function(msg) return '> **error:** ' .. (msg or 'the request failed') end,
  refused = function(msg) return '> **error:** ' .. (msg or 'not sent') end,
  interrupted = function(msg) return '_[interrupted: ' .. (msg or 'Neovim or the host stopped while it streamed') .. ']_' end,
}

--- The line that says how an answer ended; nil for a complete answer with nothing to say.
function M.ending(status, message)
  local marker = endings[status]
  if marker then return marker(message) end
  if message then return '_[' .. message .. ']_' end
end

--- What an answer begins with, after the text above it: a blank line, its header (PENDING
--- until the host says who answers), and the (empty) line its text starts on.
function M.opening() return { '', M.PENDING, '' } end

--- What follows an answer's text: how it ended, apart from the text (`last_line`, the answer's
--- last line, may be empty), then the blank line that closes the turn.
function M.closing(status, message, last_line)
  local out = {}
  local marker = M.ending(status, message)
  if marker then
    if last_line ~= '' then table.insert(out, '') end
    table.insert(out, marker)
  end
  table.insert(out, '')
  return out
end

--- The lines of a saved turn: what streaming it left in the buffer. A retry has no message of
--- its own: its answer follows the one it retried. Also: the attachment lines' rows in them.
function M.turn(turn)
  local lines, attached = {}, {}
  if not turn.retry then
    table.insert(lines, M.PROMPT)
    vim.list_extend(lines, M.message(turn.user))
    for _, item in ipairs(turn.attachments or {}) do
      table.insert(lines, M.attachment(item))
      table.insert(attached, { row = #lines - 1, item = item })
    end
    table.insert(lines, '') -- (opening()'s first line)
  end
  table.insert(lines, M.header(turn.who or {}))
  local answer = M.wrap_long(M.split(turn.answer or ''), 0)
  vim.list_extend(lines, answer)
  vim.list_extend(lines, M.closing(turn.status, turn.message, answer[#answer]))
  return lines, attached
end

--- A reopened chat's buffer: every saved turn, then an empty prompt. `places`, when given, gets
--- each message's place: { row (0-based, its PROMPT line), turn, attached = { { row, item } } }.
function M.saved(saved, places)
  local lines = {}
  for _, turn in ipairs(saved.turns or {}) do
    local more, attached = M.turn(turn)
    if places and not turn.retry then
      for _, a in ipairs(attached) do a.row = a.row + #lines end
      table.insert(places, { row = #lines, turn = turn, attached = attached })
    end
    vim.list_extend(lines, more)
  end
  vim.list_extend(lines, { M.PROMPT, '' })
  return lines
end

--- Where the message being written starts: the row (1-based) of the last PROMPT after the last
--- answer, or nil. A header with the message joined onto it ('## Youwhy…', as <C-u> on the empty
--- line under it leaves) counts too, and `repaired` is the two lines it should be; so the
--- previous question and answer are never taken for the new message.
function M.find_prompt(lines)
  local damaged
  for i = #lines, 1, -1 do
    local line = lines[i]
    if line == M.PROMPT then return i end
    if M.is_answer_header(line) then break end
    if not damaged and vim.startswith(line, M.PROMPT) then damaged = i end
  end
  if not damaged then return nil end
  local rest = lines[damaged]:sub(#M.PROMPT + 1):gsub('^%s+', '')
  return damaged, { M.PROMPT, rest }
end

return M
