-- One place for messages: every notice carries the (hybrid) prefix.
local M = {}

local levels = { error = vim.log.levels.ERROR, warn = vim.log.levels.WARN, info = vim.log.levels.INFO }

function M.notify(msg, level)
  if type(level) == 'string' then level = levels[level] end
  vim.notify('(hybrid) ' .. msg, level or vim.log.levels.INFO)
end

--- `msg` cut to the room the message line has beside 'showcmd' and 'ruler' (v:echospace; more
--- raises a hit-enter prompt), for a message whose whole text is on screen elsewhere (a chat's
--- error line).
function M.fit(msg)
  local room = vim.v.echospace - #'(hybrid) '
  if vim.fn.strdisplaywidth(msg) <= room then return msg end
  local cut = vim.fn.strcharpart(msg, 0, room - 1)
  while vim.fn.strdisplaywidth(cut) > room - 1 do cut = vim.fn.strcharpart(cut, 0, vim.fn.strchars(cut) - 1) end
  return cut .. '…'
end

function M.error(msg) M.notify(msg, vim.log.levels.ERROR) end
function M.warn(msg) M.notify(msg, vim.log.levels.WARN) end
function M.info(msg) M.notify(msg, vim.log.levels.INFO) end

return M
