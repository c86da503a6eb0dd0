-- setup() options: the schema (each option's type, default and description, written once),
-- one checker with one error format, and the resolved values. scripts/gen_help.lua writes the
-- options part of :help hybrid-setup from M.schema; tests/test_docs_setup.py keeps them equal.
local M = {}

local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h:h')

M.root = root

--- Every option, in the order :help hybrid-setup lists them.
---   name     dotted path into the setup() table
---   type     'string', 'boolean', 'number', or 'keys': a table of named key sequences, where
---            `keys` lists each name, its default and what it does
---   default  the value when unset; nil when it is worked out at use, as `default_doc` says
---   desc     one line for :help; `help`: more paragraphs, `example`: a line of Lua (optional)
---   one_of   the values allowed; `positive`: a number of at least 1
---   heading, tag: how :help names it, when not by `name` (its tag is *hybrid-opt-{tag}*)
M.schema = {
  {
    name = 'config', type = 'string',
    default_doc = '$HYBRID_CONFIG, else `~/.config/hybrid/setup.yaml`',
    desc = 'Path of setup.yaml (|hybrid-config|).',
  },
  {
    name = 'data_dir', type = 'string',
    default_doc = "`stdpath('data') .. '/hybrid'`",
    desc = 'Where the saved chats, the log and the usage ledger are kept.',
    help = {
      'Saved chats: |hybrid-chats|. Log: hybrid.log, rotated. Usage ledger: usage.sqlite3 (|hybrid-cost|). '
        .. 'A data_dir that is a file, or that cannot be written, is said once as the host starts (one line '
        .. 'naming it); chats are then answered but not saved.',
    },
  },
  {
    name = 'python', type = 'string',
    default_doc = '`<plugin>/.venv/bin/python` when it exists (`make install` creates it), '
      .. 'else |g:python3_host_prog|, else `python3`',
    desc = 'Interpreter for the Python host.',
    help = { 'It needs pynvim, httpx, pyyaml and msgpack; with httpx-aiohttp answers stream at a third of the host\'s CPU.' },
  },
  {
    name = 'chat.layout', type = 'string', default = 'split', one_of = { 'split', 'vsplit', 'float', 'tab' },
    desc = 'How the chat opens.',
  },
  {
    name = 'chat.size', type = 'number', positive = true,
    default_doc = 'a third of the screen',
    desc = 'Rows (split) or columns (vsplit) of the chat window.',
  },
  {
    name = 'chat.highlight', type = 'boolean', default = true,
    desc = "true: the chat's own markdown highlighting; false: Neovim's.",
    help = {
      'Headings, quotes, lists, emphasis, inline code and links, and a closed code fence in its '
        .. "language when that language's treesitter parser is installed (the fence still streaming "
        .. "stays plain). While an answer streams it costs Neovim a third of the CPU its regex markdown syntax takes "
        .. '(README, Performance). The buffer keeps filetype=markdown, so render-markdown.nvim and '
        .. 'the like still run; a chat you start treesitter on is left to treesitter.',
    },
  },
  {
    name = 'chat.keys', type = 'keys', strict = true, allow_false = true,
    desc = "The chat buffer's own keys (|hybrid-chat-keys|).",
    help = { 'false leaves one unmapped.' },
    keys = {
      { 'send', '<CR>', 'normal mode: send the prompt being written' },
      { 'backend', '<C-x>', 'normal and insert mode: the backend picker' },
      { 'cancel', '<C-c>', "stop this chat's answer" },
      { 'close', 'q', 'close the chat window' },
      { 'attach', '<C-a>', 'normal and insert mode: pick an attachment' },
      { 'complete', '<Tab>', 'insert mode: complete an attachment, a path' },
      { 'preview', 'K', 'on an attachment line: show what was sent' },
      { 'apply', 'ga', "on an answer's code block: review it in place" },
    },
    example = "require('hybrid').setup({ chat = { keys = { send = '<C-s>', close = false } } })",
  },
  {
    name = 'keymaps', type = 'boolean', default = false,
    default_doc = 'false, and no global key is mapped',
    desc = 'true sets the global `<leader>h` maps of |hybrid-keymaps|.',
  },
  {
    name = 'ask', type = 'keys', heading = 'ask.accept, ask.reject',
    desc = "The review keys of a pending edit (|hybrid-ask|).",
    keys = {
      { 'accept', 'ga', 'apply the edit, as |:HybridAccept|' },
      { 'reject', 'gr', 'drop the edit, as |:HybridReject|' },
    },
    help = { 'They are mapped in the edited buffer only while the edit is pending.' },
  },
}

-- The defaults, as a nested table, from the schema.
local function defaults()
  local out = {}
  for _, o in ipairs(M.schema) do
    local value = o.default
    if o.type == 'keys' then
      value = {}
      for _, key in ipairs(o.keys) do value[key[1]] = key[2] end
    end
    local parent, path = out, vim.split(o.name, '.', { plain = true })
    for i = 1, #path - 1 do
      parent[path[i]] = parent[path[i]] or {}
      parent = parent[path[i]]
    end
    parent[path[#path]] = value
  end
  return out
end

M.defaults = defaults()
M.values = vim.deepcopy(M.defaults)

-- The one error format: what is wrong with which option.
local function invalid(name, expected, value)
  return ('setup(): %s must be %s, got %s'):format(name, expected, vim.inspect(value))
end

local function unknown(name, known)
  return ('setup(): unknown key %s (%s)'):format(name, known)
end

--- "a, b or c"
local function either(names)
  if #names == 1 then return names[1] end
  return table.concat(names, ', ', 1, #names - 1) .. ' or ' .. names[#names]
end

local a_type = { string = 'a string', boolean = 'a boolean', number = 'a number', keys = 'a table' }

--- What option o accepts, in the words of its error.
local function expected(o)
  if o.one_of then return either(o.one_of) end
  if o.positive then return 'a positive number' end
  return a_type[o.type]
end

local function is_key(lhs) return type(lhs) == 'string' and lhs ~= '' end

-- The error for a table of keys, if any.
local function check_keys(o, value)
  local names = vim.tbl_map(function(key) return key[1] end, o.keys)
  for name, lhs in pairs(value) do
    local known = vim.tbl_contains(names, name)
    if not known and o.strict then return unknown(o.name .. '.' .. name, either(names)) end
    if known and not (is_key(lhs) or (o.allow_false and lhs == false)) then
      local example = ('a key sequence such as %q'):format(o.keys[1][2])
      return invalid(o.name .. '.' .. name, example .. (o.allow_false and ', or false' or ''), lhs)
    end
  end
end

-- The error for option o's value, if any (nil is always fine: the default applies).
local function check_option(o, value)
  if value == nil then return nil end
  local wrong = o.type == 'keys' and type(value) ~= 'table' or o.type ~= 'keys' and type(value) ~= o.type
  if wrong or (o.one_of and not vim.tbl_contains(o.one_of, value)) or (o.positive and value < 1) then
    return invalid(o.name, expected(o), value)
  end
  if o.type == 'keys' then return check_keys(o, value) end
end

-- The first thing wrong with opts, as one line; nil when all is well. Names setup() does not
-- know are refused at the top level and in a `strict` keys table (chat.keys); in a group
-- (chat) or another keys table (ask) they are kept, as they always were.
local function check(opts)
  local top, groups = {}, {}
  for _, o in ipairs(M.schema) do
    local first, rest = o.name:match('^([^.]+)(.*)$')
    if not vim.tbl_contains(top, first) then table.insert(top, first) end
    if rest ~= '' then groups[first] = true end
  end
  for key in pairs(opts) do
    if not vim.tbl_contains(top, key) then return unknown(tostring(key), either(top)) end
  end
  for name in pairs(groups) do
    if opts[name] ~= nil and type(opts[name]) ~= 'table' then return invalid(name, 'a table', opts[name]) end
  end
  for _, o in ipairs(M.schema) do
    local err = check_option(o, vim.tbl_get(opts, unpack(vim.split(o.name, '.', { plain = true }))))
    if err then return err end
  end
end

--- Validate and store; on a bad option, say so and keep the previous values.
function M.set(opts)
  opts = opts or {}
  local err = check(opts)
  if err then
    require('hybrid.notify').error(err)
    return false
  end
  M.values = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts)
  if M.values.keymaps then require('hybrid.keymaps').set_leader_maps() end
  return true
end

function M.config_path()
  local path = M.values.config or vim.env.HYBRID_CONFIG or '~/.config/hybrid/setup.yaml'
  return vim.fn.expand(path)
end

function M.data_dir()
  return vim.fn.expand(M.values.data_dir or (vim.fn.stdpath('data') .. '/hybrid'))
end

function M.python()
  if M.values.python then return vim.fn.expand(M.values.python) end
  local venv = root .. '/.venv/bin/python'
  if vim.fn.executable(venv) == 1 then return venv end
  local prog = vim.g.python3_host_prog
  if type(prog) == 'string' and prog ~= '' then return vim.fn.expand(prog) end
  return 'python3'
end

return M
