// Menus by role from the API's own access table: /openapi.json lists every route
// with the roles it admits (x-roles, built from the same rules the router enforces),
// so the console shows a page only when the user's role may call what it needs.
let table = new Map();
let role = '';

export async function loadAccess(myRole) {
  role = myRole;
  const r = await fetch('/openapi.json');
  const doc = await r.json();
  table = new Map();
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(item)) {
      const roles = String(op['x-roles'] || '').split(',').map(s => s.trim()).filter(Boolean);
      table.set(method.toUpperCase() + ' ' + path, roles);
    }
  }
}

// can reports whether the signed-in role may call "METHOD /path" (OpenAPI form, {id}).
export function can(route) {
  const roles = table.get(route);
  return !!roles && (roles.includes('public') || roles.includes(role));
}

export function currentRole() { return role; }
