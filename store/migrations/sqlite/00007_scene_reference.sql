-- Issue 20: the picture diagnosis compares each visit with the camera's reference
-- view (its structure), kept between visits and restarts, to tell a moved camera.

-- +goose Up
ALTER TABLE camera_diagnosis ADD COLUMN scene_ref BLOB;
ALTER TABLE camera_diagnosis ADD COLUMN scene_changed_at BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE camera_diagnosis DROP COLUMN scene_changed_at;
ALTER TABLE camera_diagnosis DROP COLUMN scene_ref;
