-- Argo CD health of a LunoraContainer or LunoraApp, from its kstatus conditions: Suspended while
-- spec.suspend is set (the operator then writes nothing); Progressing until the operator has
-- observed the current generation and while Reconciling is True (it is retrying); Degraded when
-- Stalled is True (the spec or a referenced object must change); Healthy when Ready is True;
-- Suspended when Ready is False with neither (a change waits for a person, such as a rollout held
-- by rollout_kind "none"), as Argo CD shows a paused Deployment.
local hs = {status = "Progressing", message = "Waiting for lunora-operator"}
if obj.spec ~= nil and obj.spec.suspend == true then
  hs.status = "Suspended"
  hs.message = "Reconciliation suspended (spec.suspend)"
  return hs
end
if obj.metadata.deletionTimestamp ~= nil then
  hs.message = "Deleting"
  return hs
end
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
if obj.status.observedGeneration == nil or obj.status.observedGeneration ~= obj.metadata.generation then
  hs.message = "Generation " .. tostring(obj.metadata.generation) .. " not yet observed"
  return hs
end
local conditions = {}
for _, condition in ipairs(obj.status.conditions) do
  conditions[condition.type] = condition
end
local function describe(condition)
  local reason = condition.reason or condition.type
  if condition.message ~= nil and condition.message ~= "" then
    return reason .. ": " .. condition.message
  end
  return reason
end
if conditions.Stalled ~= nil and conditions.Stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = describe(conditions.Stalled)
  return hs
end
if conditions.Reconciling ~= nil and conditions.Reconciling.status == "True" then
  hs.message = describe(conditions.Reconciling)
  return hs
end
local ready = conditions.Ready
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message or ""
  return hs
end
if ready ~= nil and ready.status == "False" then
  hs.status = "Suspended"
  hs.message = describe(ready)
end
return hs
