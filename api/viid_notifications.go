package api

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/cityeye/cityeye/gat1400"
)

// viidReceiveNotifications: POST /VIID/SubscribeNotifications, where a peer pushes
// SubscribeNotificationObjects (GA/T 1400: to the subscriber's ReceiveAddr). Their
// object lists (FaceObjectList, MotorVehicleObjectList, …) are stored exactly as a
// POST to /VIID/<X>s would store them, under the same rules (the peer's
// department, its devices, IDs it may write), by ID: ExecuteOperation 2 (update)
// replaces the stored object. The answer has one ResponseStatusObject per
// notification, Id its NotificationID. ExecuteOperation 3 (delete) is refused
// with StatusCode 4 (use DELETE /VIID/<X>s?IDList=…), and catalogue lists
// (devices, tollgates, lanes, cases) are not taken.
func viidReceiveNotifications(s *Server, c *gin.Context) {
	var env struct {
		SubscribeNotificationListObject struct {
			SubscribeNotificationObject []map[string]json.RawMessage
		}
	}
	if err := decodeLenient(c, &env); err != nil || len(env.SubscribeNotificationListObject.SubscribeNotificationObject) == 0 {
		s.viidStatus(c, http.StatusBadRequest, gat1400.StatusInvalidJSONFormat, `want {"SubscribeNotificationListObject":{"SubscribeNotificationObject":[…]}}`)
		return
	}
	p := who(c)
	var sts []gat1400.ResponseStatus
	for i, n := range env.SubscribeNotificationListObject.SubscribeNotificationObject {
		var nid string
		var op gat1400.FlexInt
		json.Unmarshal(n["NotificationID"], &nid)
		json.Unmarshal(n["ExecuteOperation"], &op)
		st := gat1400.NewResponseStatus(c.Request.URL.Path, nid, gat1400.StatusOK, s.now())
		at := fmt.Sprintf("SubscribeNotificationObject[%d]", i)
		if op == 3 {
			st.StatusCode, st.StatusString = gat1400.StatusInvalidOperation, at+": ExecuteOperation 3 (delete) is not applied; use DELETE /VIID/<X>s?IDList=…"
		}
		for _, k := range viidKinds {
			if op == 3 || n[k.Object+"ObjectList"] == nil {
				continue
			}
			var inner map[string][]json.RawMessage
			if err := json.Unmarshal(n[k.Object+"ObjectList"], &inner); err != nil {
				st.StatusCode, st.StatusString = gat1400.StatusInvalidJSONContent, fmt.Sprintf("%s.%sObjectList: %v", at, k.Object, err)
				continue
			}
			for j, item := range inner[k.Object+"Object"] {
				if _, err := s.viidStore(c, p, k, item); err != nil && st.StatusCode == gat1400.StatusOK {
					st.StatusCode, st.StatusString = viidStatusCode(err), fmt.Sprintf("%s.%sObjectList.%sObject[%d]: %v", at, k.Object, k.Object, j, err)
				}
			}
		}
		sts = append(sts, st)
	}
	c.Header("Content-Type", "application/VIID+JSON;charset=UTF-8")
	c.JSON(http.StatusOK, gat1400.NewResponseStatusList(sts...))
}
