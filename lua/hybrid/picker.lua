-- Backend and model pickers, through vim.ui.select so any picker plugin takes over.
local host = require('hybrid.host')
local rpc = require('hybrid.rpc')
local notify = require('hybrid.notify')
local state = require('hybrid.state')

local M = {}

local function backend_label(item, current)
  local mark = item.name == current and '● ' or '  '
  return ('%s%-12s %-6s %s'):format(mark, item.name, item.kind, item.model or '')
end

function M.backend()
  if not host.ensure() then return end
  state.when_ready(function(s)
    local items = vim.deepcopy(s.backends or {})
    table.insert(items, 1, { name = 'auto', kind = 'route', model = 'local by default, cloud when the task needs it' })
    local current = s.mode == 'auto' and 'auto' or s.backend
    vim.ui.select(items, {
      prompt = 'hybrid backend',
      kind = 'hybrid_backend',
      format_item = function(item) return backend_label(item, current) end,
    }, function(choice)
      if choice then rpc.choose('backend', choice.name) end
    end)
  end)
end

local function model_label(m, current)
  local extra = {}
  if m.parameter_size then table.insert(extra, m.parameter_size) end
  if m.quantization then table.insert(extra, m.quantization) end
  if m.price then table.insert(extra, m.price) end
  if m.loaded then table.insert(extra, 'loaded') end
  local mark = m.name == current and '● ' or '  '
  return mark .. m.name .. (#extra > 0 and ('  (' .. table.concat(extra, ', ') .. ')') or '')
end

local listed = {} -- backend name: the model names its server listed last
local asking = {}

local function remember(result)
  listed[result.backend] = vim.tbl_map(function(m) return m.name end, result.models or {})
end

--- The models `backend`'s server listed when last asked; the first call asks it in the background.
function M.listed_models(backend)
  if not listed[backend] and not asking[backend] and host.running() then
    asking[backend] = true
    rpc.models(backend, function(result)
      asking[backend] = nil
      if result then remember(result) end
    end)
  end
  return listed[backend] or {}
end

function M.model()
  rpc.models(nil, function(result, err)
    if err then return notify.error(err) end
    remember(result)
    if #result.models == 0 then return notify.warn(result.backend .. ': the server lists no models') end
    local current = (state.current or {}).model
    vim.ui.select(result.models, {
      prompt = ('hybrid model (%s, %s)'):format(result.backend, result.kind or '?'),
      kind = 'hybrid_model',
      format_item = function(m) return model_label(m, current) end,
    }, function(choice)
      if choice then rpc.choose('model', choice.name) end
    end)
  end)
end

local function preset_label(p, current)
  local mark = p.name == current and '● ' or '  '
  local where = p.backend == 'auto' and 'auto' or (p.backend .. (p.model and (' · ' .. p.model) or ''))
  local about = p.description or (p.system and p.system:gsub('%s+', ' '):sub(1, 60)) or ''
  return ('%s%-16s %-36s %s'):format(mark, p.name, where, about)
end

--- :HybridPreset with no name: the presets of setup.yaml (and GPTCode profiles).
function M.preset()
  if not host.ensure() then return end
  state.when_ready(function(s)
    local items = s.presets or {}
    if #items == 0 then
      return notify.info('no presets yet; add some under presets: in ' .. (s.config_path or 'setup.yaml') ..
        ' (see :help hybrid-presets)')
    end
    vim.ui.select(items, {
      prompt = 'hybrid preset',
      kind = 'hybrid_preset',
      format_item = function(p) return preset_label(p, s.preset) end,
    }, function(choice)
      if choice then rpc.choose('preset', choice.name) end
    end)
  end)
end

M._preset_label = preset_label -- (for tests of what the picker shows)

--- :HybridBackend, :HybridModel, :HybridPreset and /preset: a name sets `what` (backend, model
--- or preset), no name opens its picker.
function M.choose(what, name)
  if name == nil or name == '' then return M[what]() end
  rpc.choose(what, name)
end

local function chat_label(c)
  return ('%s  %s'):format(os.date('%Y-%m-%d %H:%M', math.floor(c.updated)), c.title)
end

--- :HybridChats: saved chats, newest first; pick one, then open or delete it.
function M.chats()
  rpc.chats(function(list, err)
    if err then return notify.error(err) end
    if #list == 0 then return notify.info('no saved chats yet; :HybridChat starts one') end
    vim.ui.select(list, { prompt = 'hybrid chats', kind = 'hybrid_chats', format_item = chat_label }, function(chosen)
      if not chosen then return end
      vim.ui.select({ 'Open', 'Delete' }, { prompt = chosen.title, kind = 'hybrid_chat_action' }, function(action)
        if action == 'Open' then
          require('hybrid.chat').open_saved(chosen.id)
        elseif action == 'Delete' then
          rpc.chat_delete(chosen.id, function(_, derr)
            if derr then return notify.error(derr) end
            require('hybrid.chat').forget(chosen.id)
            notify.info('deleted the chat "' .. chosen.title .. '"')
          end)
        end
      end)
    end)
  end)
end

return M
