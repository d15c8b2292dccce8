package api

import _ "github.com/cityeye/cityeye/algorithms/all" // every algorithm the API validates tasks against
