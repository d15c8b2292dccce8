package api

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// routes is the single table of the API: Handler registers it and the OpenAPI
// document describes it.
func routes() []route {
	recordQuery := []string{"type", "device_id", "task_id", "from", "to", "offset", "limit"}
	return []route{
		{http.MethodGet, "/health", "Liveness and dependency checks", nil, "", health},
		{http.MethodGet, "/openapi.json", "This OpenAPI 3 document", nil, "", serveOpenAPI},
		{http.MethodGet, "/api/v1/algorithms", "Registered algorithms and the models they use", nil, "", listAlgorithms},
		{http.MethodGet, "/api/v1/models", "Models in the repository", nil, "", listModels},
		{http.MethodGet, "/api/v1/stats", "Record counts, pipeline status and batching counters", nil, "", stats},
		{http.MethodPost, "/api/v1/streams", "Register a camera stream", nil, "Stream", createStream},
		{http.MethodGet, "/api/v1/streams", "List streams with live status", nil, "", listStreams},
		{http.MethodGet, "/api/v1/streams/:id", "Get a stream and its decode status", nil, "", getStream},
		{http.MethodPut, "/api/v1/streams/:id", "Update a stream", nil, "Stream", updateStream},
		{http.MethodDelete, "/api/v1/streams/:id", "Delete a stream and its tasks", nil, "", deleteStream},
		{http.MethodPost, "/api/v1/tasks", "Bind a stream to an algorithm", nil, "Task", createTask},
		{http.MethodGet, "/api/v1/tasks", "List tasks with their grants", []string{"device_id"}, "", listTasks},
		{http.MethodGet, "/api/v1/tasks/:id", "Get a task", nil, "", getTask},
		{http.MethodPut, "/api/v1/tasks/:id", "Update a task's algorithm, params or enabled flag", nil, "Task", updateTask},
		{http.MethodDelete, "/api/v1/tasks/:id", "Delete a task", nil, "", deleteTask},
		{http.MethodGet, "/api/v1/records", "Search GA/T 1400 records, newest first", recordQuery, "", listRecords},
		{http.MethodGet, "/api/v1/records/:id", "Get one record by its 48-character ID", nil, "", getRecord},
		{http.MethodGet, "/api/v1/objects/*key", "Fetch a stored snapshot (StoragePath points here)", nil, "", getObject},
	}
}

// openAPIPath converts gin's :id and *key to OpenAPI's {id} and {key}.
func openAPIPath(p string) (string, []string) {
	var params []string
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
			params = append(params, s[1:])
			parts[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(parts, "/"), params
}

var schemas = gin.H{
	"Error": gin.H{"type": "object", "required": []string{"error"}, "properties": gin.H{
		"error": gin.H{"type": "string"}, "field": gin.H{"type": "string", "description": "the offending input field"}}},
	"Stream": gin.H{"type": "object", "required": []string{"device_id", "name", "url", "admin_division", "longitude", "latitude", "owner_department", "point_type", "sharing"},
		"properties": gin.H{
			"device_id":        gin.H{"type": "string", "pattern": "^[0-9]{20}$", "description": "GB/T 28181 device ID"},
			"name":             gin.H{"type": "string", "maxLength": 100},
			"url":              gin.H{"type": "string", "description": "rtsp://, rtmp://, http(s):// or file:///"},
			"admin_division":   gin.H{"type": "string", "pattern": "^[0-9]{6}$"},
			"longitude":        gin.H{"type": "number"},
			"latitude":         gin.H{"type": "number"},
			"owner_department": gin.H{"type": "string"},
			"point_type":       gin.H{"type": "integer", "enum": []int{1, 2, 3}},
			"sharing":          gin.H{"type": "integer", "enum": []int{0, 1, 2}, "description": "0 conditional, 1 unconditional, 2 not shared"},
		}},
	"Task": gin.H{"type": "object", "required": []string{"device_id", "algorithm"}, "properties": gin.H{
		"device_id": gin.H{"type": "string"}, "algorithm": gin.H{"type": "string"}, "enabled": gin.H{"type": "boolean"},
		"params": gin.H{"type": "object", "properties": gin.H{
			"sample_fps": gin.H{"type": "number"},
			"roi":        gin.H{"type": "array", "items": gin.H{"type": "array", "items": gin.H{"type": "number"}, "minItems": 2, "maxItems": 2}},
			"thresholds": gin.H{"type": "object", "additionalProperties": gin.H{"type": "number"}},
			"schedule":   gin.H{"type": "object", "properties": gin.H{"start": gin.H{"type": "string"}, "end": gin.H{"type": "string"}}},
		}}}},
}

// OpenAPI builds the document from the route table.
func OpenAPI() gin.H {
	paths := gin.H{}
	for _, r := range routes() {
		p, params := openAPIPath(r.path)
		op := gin.H{"summary": r.summary, "responses": gin.H{
			"200": gin.H{"description": "OK"},
			"4XX": gin.H{"description": "bad input or missing resource", "content": gin.H{"application/json": gin.H{"schema": gin.H{"$ref": "#/components/schemas/Error"}}}},
		}}
		var ps []gin.H
		for _, n := range params {
			ps = append(ps, gin.H{"name": n, "in": "path", "required": true, "schema": gin.H{"type": "string"}})
		}
		for _, n := range r.query {
			ps = append(ps, gin.H{"name": n, "in": "query", "schema": gin.H{"type": "string"}})
		}
		if ps != nil {
			op["parameters"] = ps
		}
		if r.body != "" {
			op["requestBody"] = gin.H{"required": true, "content": gin.H{"application/json": gin.H{"schema": gin.H{"$ref": "#/components/schemas/" + r.body}}}}
		}
		item, _ := paths[p].(gin.H)
		if item == nil {
			item = gin.H{}
			paths[p] = item
		}
		item[strings.ToLower(r.method)] = op
	}
	return gin.H{"openapi": "3.0.3", "info": gin.H{"title": "CityEye API", "version": "1"}, "paths": paths, "components": gin.H{"schemas": schemas}}
}

func serveOpenAPI(_ *Server, c *gin.Context) { c.JSON(http.StatusOK, OpenAPI()) }
