package workers

import _ "github.com/cityeye/cityeye/algorithms/all" // every algorithm a worker can run
