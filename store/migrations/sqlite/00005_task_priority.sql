-- +goose Up
-- A task's priority (issue 15): under overload the planner lowers the rates of lower
-- priorities first. -1 low, 0 normal (default), 1 high, 2 critical; high and critical
-- tasks are never time-shared (README "Capacity and grants").
ALTER TABLE tasks ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE tasks DROP COLUMN priority;
