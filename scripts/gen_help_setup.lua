-- Writes the setup() options of doc/hybrid.txt (:help hybrid-setup) from their schema in
-- lua/hybrid/options.lua, the way gitsigns writes its help from its config schema.
--
--   nvim -l scripts/gen_help_setup.lua            rewrite doc/hybrid.txt
--   nvim -l scripts/gen_help_setup.lua --stdout   print the whole file as it should be
--
-- The part written is everything between the `require('hybrid').setup({opts})` line and the
-- next ==== rule; the rest of the file is left as it is.
local root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
package.path = root .. '/lua/?.lua;' .. root .. '/lua/?/init.lua;' .. package.path
local options = require('hybrid.options')

local DOC = root .. '/doc/hybrid.txt'
local START = "require('hybrid').setup({opts})"
local WIDTH = 78 -- text
local TAG_END = 76 -- where the option's *tag* ends, as in the rest of the section
local INDENT = '        '

--- `text` as lines of at most WIDTH, each starting with `indent`.
local function wrap(text, indent)
  local lines, line = {}, indent
  for word in text:gmatch('%S+') do
    if line ~= indent and #line + 1 + #word > WIDTH then
      table.insert(lines, line)
      line = indent
    end
    line = line == indent and (line .. word) or (line .. ' ' .. word)
  end
  if line ~= indent then table.insert(lines, line) end
  return lines
end

local function quoted(values)
  local out = vim.tbl_map(function(v) return ('"%s"'):format(v) end, values)
  return table.concat(out, ', ', 1, #out - 1) .. ' or ' .. out[#out]
end

local function type_doc(o)
  if o.one_of then return quoted(o.one_of) end
  if o.positive then return 'number (1 or more)' end
  return o.type
end

local function default_doc(o)
  if o.default_doc then return o.default_doc end
  return type(o.default) == 'string' and ('"%s"'):format(o.default) or tostring(o.default)
end

local function option_lines(o)
  local heading = '    ' .. (o.heading or o.name)
  local tag = ('*hybrid-opt-%s*'):format(o.tag or o.name)
  local out = { heading .. (' '):rep(math.max(TAG_END - #heading - #tag, 1)) .. tag }
  assert(#INDENT + #o.desc <= WIDTH, o.name .. ': the description is more than one line')
  table.insert(out, INDENT .. o.desc)
  if o.type == 'keys' then
    local width = 0
    for _, key in ipairs(o.keys) do width = math.max(width, #key[1], #key[2] + 2) end
    for _, key in ipairs(o.keys) do
      local default = ('"%s"'):format(key[2])
      table.insert(out, ('%s    %s%s%s%s%s'):format(INDENT, key[1], (' '):rep(width - #key[1] + 2), default,
        (' '):rep(width - #default + 2), key[3]))
    end
  end
  for _, paragraph in ipairs(o.help or {}) do vim.list_extend(out, wrap(paragraph, INDENT)) end
  if o.type ~= 'keys' then
    vim.list_extend(out, wrap(('Type: %s. Default: %s.'):format(type_doc(o), default_doc(o)), INDENT))
  end
  if o.example then vim.list_extend(out, { INDENT .. 'For example: >lua', INDENT .. o.example, '<' }) end
  return out
end

--- The section's lines after START, up to (not with) the rule that ends it.
local function section()
  local out = { '    All options are optional; commands work without calling setup().', '' }
  for _, o in ipairs(options.schema) do
    vim.list_extend(out, option_lines(o))
    if out[#out] ~= '<' then table.insert(out, '') end -- (a code block's end is blank enough)
  end
  return out
end

local function generated()
  local lines = vim.fn.readfile(DOC)
  local first = 1
  while lines[first] and lines[first] ~= START do first = first + 1 end
  assert(lines[first], 'no setup() heading in ' .. DOC)
  local last = first + 1
  while lines[last] and not lines[last]:match('^====') do last = last + 1 end
  assert(lines[last], 'no ==== rule after the setup() heading')
  local out = vim.list_slice(lines, 1, first)
  vim.list_extend(out, section())
  vim.list_extend(out, vim.list_slice(lines, last))
  return out
end

local out = generated()
if vim.tbl_contains(_G.arg or {}, '--stdout') then
  io.stdout:write(table.concat(out, '\n') .. '\n')
else
  vim.fn.writefile(out, DOC)
end
