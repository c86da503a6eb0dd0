-- Attachments written in a message: #buffer, #buffer:NAME, #file:PATH, #selection,
-- #diagnostics, #diff, #diff:repo, #quickfix (see :help hybrid-context-attachments). This
-- module finds them in the text and collects what the editor holds, when the message is sent:
-- buffers, the selection, diagnostics, the quickfix list. Files and git diffs are read by the
-- host, which also checks every attachment for privacy and size; one that cannot be collected
-- goes with its error, and the host refuses the message naming it.
local api = vim.api

local M = {}

-- What follows each kind: 'none', 'optional' (:NAME) or 'required' (:PATH).
M.KINDS = { buffer = 'optional', file = 'required', selection = 'none', diagnostics = 'none', diff = 'optional',
  quickfix = 'none' }
M.ORDER = { 'buffer', 'file', 'selection', 'diagnostics', 'diff', 'quickfix' }
local DIAGNOSTIC_CONTEXT = 2 -- lines shown above and below each diagnostic

local function display(path) return vim.fn.fnamemodify(path, ':~:.') end

--- A path as written in a message: a space in it escaped with a backslash.
function M.escape(path) return (path:gsub(' ', '\\ ')) end

--- The attachments written in `text`, in order, each once: { kind, arg, name }. Words inside
--- fenced code are not attachments; a token starts the text or follows a space or a bracket;
--- `\ ` is a space inside it (#file:my\ notes.txt).
function M.parse(text)
  local found, seen, fenced = {}, {}, false
  for line in ((text or '') .. '\n'):gmatch('(.-)\n') do
    line = line:gsub('\\ ', '\1')
    if line:match('^%s*```') or line:match('^%s*~~~') then
      fenced = not fenced
    elseif not fenced then
      for at, kind, rest in line:gmatch('()#(%a+)(%S*)') do
        local before = at > 1 and line:sub(at - 1, at - 1) or ' '
        local arg = rest:match('^:(.*)$')
        if arg then arg = arg:gsub('[,.;!?)%]]+$', ''):gsub('\1', ' ') end
        local plain = rest == '' or rest:match('^[,.;!?)%]]+$')
        if M.KINDS[kind] and before:match('[%s(%[]') and (arg or plain) then
          local name = '#' .. kind .. ((arg and arg ~= '') and (':' .. arg) or '')
          if not seen[name] then
            seen[name] = true
            table.insert(found, { kind = kind, arg = arg ~= '' and arg or nil, name = name })
          end
        end
      end
    end
  end
  return found
end

local function buffer_item(name, buf)
  local path = api.nvim_buf_get_name(buf)
  return { kind = 'buffer', name = name, buf = buf, path = path ~= '' and path or nil,
    display = path ~= '' and display(path) or ('[No Name] (buffer %d)'):format(buf),
    filetype = vim.bo[buf].filetype, text = table.concat(api.nvim_buf_get_lines(buf, 0, -1, false), '\n') }
end

--- The loaded buffer `arg` names: its number, its path (as typed, relative or full) or its file
--- name when only one buffer has it.
function M.find_buffer(arg)
  local n = tonumber(arg)
  if n and api.nvim_buf_is_valid(n) then return n end
  local full, tails = vim.fn.fnamemodify(arg, ':p'), {}
  for _, b in ipairs(api.nvim_list_bufs()) do
    local name = api.nvim_buf_is_loaded(b) and api.nvim_buf_get_name(b) or ''
    if name ~= '' and vim.b[b].hybrid_chat_id == nil then
      if name == full or display(name) == arg then return b end
      if vim.fn.fnamemodify(name, ':t') == arg then table.insert(tails, b) end
    end
  end
  if #tails == 1 then return tails[1] end
  return nil, #tails > 1 and ('%d buffers are named %s; write more of the path'):format(#tails, arg)
    or ('no loaded buffer is named %s (:ls lists them)'):format(arg)
end

local function origin_buf(origin)
  local buf = origin and origin.buf
  if buf and api.nvim_buf_is_valid(buf) then return buf end
end

local NO_ORIGIN = 'the chat was not opened from a buffer; name one with #buffer:NAME'

local function selection_item(name, buf)
  local s, e = api.nvim_buf_get_mark(buf, '<'), api.nvim_buf_get_mark(buf, '>')
  if s[1] == 0 or e[1] == 0 then
    return { error = ('%s: nothing was selected in %s yet (select lines with V first)'):format(name, display(api.nvim_buf_get_name(buf))) }
  end
  local first, last = math.min(s[1], e[1]), math.max(s[1], e[1])
  local item = buffer_item(name, buf)
  item.kind, item.first = 'selection', first
  item.text = table.concat(api.nvim_buf_get_lines(buf, first - 1, last, false), '\n')
  return item
end

local severities = { 'ERROR', 'WARN', 'INFO', 'HINT' }

local function diagnostics_item(name, buf)
  local path = api.nvim_buf_get_name(buf)
  local shown = path ~= '' and display(path) or '[No Name]'
  local diags = vim.diagnostic.get(buf)
  table.sort(diags, function(a, b) return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col) end)
  local out = {}
  for _, d in ipairs(diags) do
    local message = d.message:gsub('%s*\n%s*', ' / ')
    table.insert(out, ('%s:%d:%d: %s: %s%s'):format(shown, d.lnum + 1, d.col + 1, severities[d.severity] or '?',
      message, d.source and (' [' .. d.source .. ']') or ''))
    local from = math.max(0, d.lnum - DIAGNOSTIC_CONTEXT)
    for i, text in ipairs(api.nvim_buf_get_lines(buf, from, d.lnum + DIAGNOSTIC_CONTEXT + 1, false)) do
      local lnum = from + i
      table.insert(out, ('%s %4d | %s'):format(lnum == d.lnum + 1 and '>' or ' ', lnum, text))
    end
  end
  return { kind = 'diagnostics', name = name, path = path ~= '' and path or nil, display = shown,
    text = table.concat(out, '\n'), note = #diags == 0 and ('no diagnostics in ' .. shown) or nil }
end

local function quickfix_item(name)
  local qf = vim.fn.getqflist({ items = 1, title = 1 })
  local out, paths, seen = {}, {}, {}
  for _, e in ipairs(qf.items or {}) do
    local file = e.bufnr > 0 and api.nvim_buf_get_name(e.bufnr) or ''
    if file ~= '' and not seen[file] then
      seen[file] = true
      table.insert(paths, vim.fn.fnamemodify(file, ':p'))
    end
    local where = file ~= '' and ('%s:%d:%d: '):format(display(file), e.lnum, e.col) or ''
    table.insert(out, where .. vim.trim(e.text or ''))
  end
  if #out > 0 and (qf.title or '') ~= '' then table.insert(out, 1, 'Quickfix list: ' .. qf.title) end
  return { kind = 'quickfix', name = name, text = table.concat(out, '\n'), paths = paths,
    note = #out == 0 and 'the quickfix list is empty' or nil }
end

-- One attachment's item: what the host needs to read it, or what the editor read; or { error }.
local function collect(token, origin)
  local kind, arg, name = token.kind, token.arg, token.name
  if kind == 'file' then
    if not arg then return { error = '#file needs a path: #file:PATH' } end
    return { kind = 'file', name = name, path = arg, display = arg,
      filetype = vim.filetype.match({ filename = arg }) or '' }
  elseif kind == 'quickfix' then
    return quickfix_item(name)
  elseif kind == 'buffer' and arg then
    local buf, err = M.find_buffer(arg)
    if not buf then return { error = name .. ': ' .. err } end
    return buffer_item(name, buf)
  end
  local buf = origin_buf(origin)
  if kind == 'diff' then
    if arg and arg ~= 'repo' then return { error = name .. ': #diff takes nothing or :repo (#diff:repo)' } end
    local path = buf and api.nvim_buf_get_name(buf) or ''
    if not arg and path == '' then
      return { error = '#diff: the chat was not opened from a file; #diff:repo takes the whole repository' }
    end
    return { kind = 'diff', name = name, repo = arg == 'repo', path = not arg and path or nil,
      display = not arg and display(path) or nil }
  end
  if not buf then return { error = name .. ': ' .. NO_ORIGIN } end
  if kind == 'selection' then return selection_item(name, buf) end
  if kind == 'diagnostics' then return diagnostics_item(name, buf) end
  return buffer_item(name, buf)
end

--- Every attachment written in `text`, collected now. origin: { buf, win } the message is about.
function M.collect(text, origin)
  local items = {}
  for _, token in ipairs(M.parse(text)) do
    local item = collect(token, origin)
    item.name, item.kind = item.name or token.name, item.kind or token.kind
    table.insert(items, item)
  end
  return items
end

--- `opts` for a request about `text`, with its attachments and the directory paths are relative
--- to (the origin window's); unchanged when the text has none.
function M.request_opts(text, origin, opts)
  opts = vim.tbl_extend('force', {}, opts or {})
  local items = M.collect(text, origin)
  if #items > 0 then
    local win = origin and origin.win
    opts.attachments = items
    opts.cwd = vim.fn.getcwd(win and api.nvim_win_is_valid(win) and win or 0)
  end
  return opts, items
end

return M
