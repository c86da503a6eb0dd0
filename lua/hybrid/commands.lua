-- The handlers of the :Hybrid* commands. plugin/hybrid.lua loads this on the first command,
-- so that setup() at startup loads only the small public API in init.lua.
local hybrid = require('hybrid')

local M = {}

-- A command's text, with the range's lines attached as context; the file they came from; and
-- the range (a code block from the answer applies there).
local function with_selection(args, default_question)
  local text = args.args
  if args.range == 0 then return text, nil end
  local lines = vim.api.nvim_buf_get_lines(0, args.line1 - 1, args.line2, false)
  local name = vim.fn.expand('%:~:.')
  local where = ('%s lines %d-%d'):format(name ~= '' and name or '[No Name]', args.line1, args.line2)
  local question = text ~= '' and text or default_question
  text = ('%s\n\nFrom %s:\n```%s\n%s\n```'):format(question, where, vim.bo.filetype, table.concat(lines, '\n'))
  local range = { buf = vim.api.nvim_get_current_buf(), srow = args.line1 - 1, erow = args.line2 - 1, lines = lines }
  return text, vim.api.nvim_buf_get_name(0), range
end

function M.chat_command(args)
  local text, path, range = with_selection(args, 'Explain this code.')
  local chat = require('hybrid.chat')
  if text == '' then
    chat.toggle()
  elseif args.range == 0 and text == 'new' then
    chat.new()
  else
    chat.ask(text, { path = path, range = range })
  end
end

function M.route_command(args)
  local text, path = with_selection(args, 'Explain this code.')
  local notify = require('hybrid.notify')
  local opts = hybrid._route_opts({ path = path }, text)
  require('hybrid.rpc').route(text, opts, function(result, err)
    if err then return notify.error(err) end
    notify.info(require('hybrid.route_view').describe(result))
  end)
end

function M.backend_command(args) require('hybrid.picker').choose('backend', args.args) end

function M.model_command(args) require('hybrid.picker').choose('model', args.args) end

function M.preset_command(args) require('hybrid.picker').choose('preset', args.args) end

-- What completion offers comes from the host's last state: start it if it is not running.
local function host_state()
  local host = require('hybrid.host')
  if not host.running() then host.ensure() end
  return require('hybrid.state').current or {}
end

--- The active backend's models: those setup.yaml names, and those its server listed (asked in
--- the background the first time, so the next <Tab> offers them too; completion never waits).
function M.complete_model()
  local s = host_state()
  local names = {}
  for _, b in ipairs(s.backends or {}) do
    if b.name == s.backend then vim.list_extend(names, b.models or { b.model }) end
  end
  if s.backend then vim.list_extend(names, require('hybrid.picker').listed_models(s.backend)) end
  table.sort(names)
  return vim.fn.uniq(names)
end

function M.complete_preset()
  return vim.tbl_map(function(p) return p.name end, host_state().presets or {})
end

function M.ask_command(args) require('hybrid.ask').command(args) end
function M.accept_command() require('hybrid.ask').accept() end
function M.reject_command() require('hybrid.ask').reject() end

function M.cancel_command()
  require('hybrid.chat').cancel()
end

function M.retry_command(args) require('hybrid.chat').retry(args.args ~= '' and args.args or nil) end
function M.chats_command() require('hybrid.picker').chats() end

function M.complete_backend()
  local names = {}
  for _, b in ipairs(host_state().backends or {}) do
    table.insert(names, b.name)
  end
  table.insert(names, 'auto')
  return names
end

function M.stats_command() require('hybrid.stats').open() end

--- :HybridCorrections lists what the router learned from you; :HybridCorrections forget drops it.
function M.corrections_command(args)
  local forget = vim.trim(args.args or '') == 'forget'
  if not forget and vim.trim(args.args or '') ~= '' then
    return require('hybrid.notify').error(":HybridCorrections takes nothing or 'forget'")
  end
  require('hybrid.rpc').corrections(forget, function(result, err)
    local notify = require('hybrid.notify')
    if err then return notify.error(err) end
    local text, listed = require('hybrid.route_view').corrections(result.items or {}, forget)
    if listed then return vim.api.nvim_echo({ { text } }, true, {}) end
    notify.info(text)
  end)
end

return M
