package api

// FeedPollers reports how many poll loops the live feed hub runs (one for any
// number of feeds open together).
func (s *Server) FeedPollers() int { return s.feed.pollers() }
