"""docs/openapi.yaml against the server: every route the router registers is documented and
every documented operation is a route; every operation has a unique operationId and its
responses; info has a licence; JSON request bodies carry an example; path parameters are
declared. Usage: openapi_test.py LIST_ROUTES_BINARY OPENAPI_YAML SCRATCH_DIR"""
import re
import subprocess
import sys

import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def main():
    binary, spec_path, scratch = sys.argv[1:4]
    spec = yaml.safe_load(open(spec_path))
    problems = []
    routes = set()
    for line in subprocess.run([binary, scratch], check=True, capture_output=True, text=True).stdout.splitlines():
        method, pattern = line.split(" ", 1)
        routes.add((method.lower(), pattern))
    documented = set()
    seen_ids = {}
    for path, item in spec["paths"].items():
        shared = [p.get("name") for p in item.get("parameters", []) if "name" in p]
        shared += [p["$ref"].rsplit("/", 1)[1] for p in item.get("parameters", []) if "$ref" in p]
        for method, op in item.items():
            if method not in METHODS:
                continue
            documented.add((method, path))
            where = f"{method.upper()} {path}"
            op_id = op.get("operationId")
            if not op_id:
                problems.append(f"{where}: no operationId")
            elif op_id in seen_ids:
                problems.append(f"{where}: operationId {op_id} is also {seen_ids[op_id]}'s")
            else:
                seen_ids[op_id] = where
            if not op.get("responses"):
                problems.append(f"{where}: no responses")
            own = [p.get("name") for p in op.get("parameters", []) if "name" in p]
            own += [p["$ref"].rsplit("/", 1)[1] for p in op.get("parameters", []) if "$ref" in p]
            for var in re.findall(r"{(\w+)}", path):
                # The shared Name parameter is components/parameters/Name (name: name).
                if var not in shared + own and var.capitalize() not in shared + own:
                    problems.append(f"{where}: path parameter {var} is not declared")
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "example" not in body and "examples" not in body:
                problems.append(f"{where}: its JSON request body has no example")
    for method, path in sorted(routes - documented):
        problems.append(f"{method.upper()} {path}: served by the router but not in {spec_path}")
    for method, path in sorted(documented - routes):
        problems.append(f"{method.upper()} {path}: in {spec_path} but no route serves it")
    license_ = spec.get("info", {}).get("license", {})
    if not license_.get("name"):
        problems.append("info.license has no name")
    if problems:
        print("\n".join("FAIL: " + p for p in problems))
        sys.exit(1)
    print(f"ok: {len(routes)} routes, all documented with operationIds")


main()
