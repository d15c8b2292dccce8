-- Issue 17 item 4: analyst search by person and face attributes. The columns are
-- extracted from the GA/T 1400 body at write time like the plate and vehicle colour
-- columns (store/search.go extractSearch): CoatColor, TrousersColor (ColorType code),
-- GenderCode (1 male, 2 female; unknown is ''), and age_band, the decade of the
-- AgeLowerLimit..AgeUpLimit midpoint ('30' is 30-39, '90' 90 and over).
--
-- One index per attribute, (attribute, shot_time, admin_division), partial on the
-- records that carry it (Person or Face, a fifth to a third of all records). The
-- attribute is an equality and time follows, so the newest matching records come
-- first and the scan stops at the page; the area is tested on the index entries
-- (a key column, so an index condition), so only records in the area are read from
-- the table, for a district as for a city's range of districts.
-- docs/bench/search.md has the measurements.
-- Records written before this migration keep the columns empty (no backfill: the
-- attributes were first written on the same release).
-- +goose Up
ALTER TABLE records ADD COLUMN coat_color TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN trousers_color TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN gender TEXT NOT NULL DEFAULT '';
ALTER TABLE records ADD COLUMN age_band TEXT NOT NULL DEFAULT '';
CREATE INDEX IF NOT EXISTS records_coat_time ON records(coat_color, shot_time, admin_division) WHERE coat_color <> '';
CREATE INDEX IF NOT EXISTS records_trousers_time ON records(trousers_color, shot_time, admin_division) WHERE trousers_color <> '';
CREATE INDEX IF NOT EXISTS records_gender_time ON records(gender, shot_time, admin_division) WHERE gender <> '';
CREATE INDEX IF NOT EXISTS records_age_time ON records(age_band, shot_time, admin_division) WHERE age_band <> '';

-- +goose Down
DROP INDEX IF EXISTS records_age_time;
DROP INDEX IF EXISTS records_gender_time;
DROP INDEX IF EXISTS records_trousers_time;
DROP INDEX IF EXISTS records_coat_time;
ALTER TABLE records DROP COLUMN age_band;
ALTER TABLE records DROP COLUMN gender;
ALTER TABLE records DROP COLUMN trousers_color;
ALTER TABLE records DROP COLUMN coat_color;
