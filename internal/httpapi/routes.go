package httpapi

import (
	"net/http"
	"reflect"

	"github.com/flagpilot/flagpilot/internal/analytics"
	"github.com/flagpilot/flagpilot/internal/domain"
	"github.com/flagpilot/flagpilot/internal/service"
	"github.com/flagpilot/flagpilot/sdk/flagfile"
)

// route is one endpoint. The same table registers the handlers, drives authorisation, and
// generates the OpenAPI document, so the three cannot drift apart.
type route struct {
	method  string
	path    string
	role    domain.Role // the minimum role; "" serves without authentication
	handler func(a *API, w http.ResponseWriter, r *http.Request) error
	summary string

	// What the OpenAPI document says about the route.
	status    int          // the success status
	body      reflect.Type // the JSON request body, if any
	resp      reflect.Type // the JSON response body; nil with 204
	list      bool         // resp comes as {"items": [...], "next": "..."}
	query     []param
	versioned bool // the response carries an ETag; writes take If-Match
	largeBody bool // Options.MaxImportBody bounds the body instead of MaxBody
}

// param is a query parameter.
type param struct {
	name, typ, description string
}

var (
	pageQuery  = []param{{"limit", "integer", "page size, 1 to 1000 (default 100)"}, {"after", "string", "the next cursor of the previous page"}}
	forceQuery = []param{{"force", "boolean", "delete even though SDK keys are in use"}}
)

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }

const (
	viewer = domain.RoleViewer
	editor = domain.RoleEditor
	admin  = domain.RoleAdmin
)

const (
	projectPath = "/api/v1/projects/{project}"
	envPath     = projectPath + "/environments/{env}"
	flagPath    = projectPath + "/flags/{flag}"
	configPath  = flagPath + "/environments/{env}"
	segmentPath = projectPath + "/segments/{segment}"
	userPath    = "/api/v1/users/{user}"
)

// routes is the management API. Viewers read; editors change flags, configurations, segments
// and import; admins manage projects, environments, SDK keys, tokens, dashboard users and
// webhooks, and are the only ones to read the last four (webhook URLs embed credentials, key
// and user lists are an attack map).
func routes() []route {
	return []route{
		{method: "GET", path: "/api/v1/openapi.json", handler: (*API).openAPI, summary: "This document", status: 200},

		{method: "GET", path: "/api/v1/projects", role: viewer, handler: (*API).listProjects, summary: "List projects", status: 200, resp: typeOf[domain.Project](), list: true, query: pageQuery},
		{method: "POST", path: "/api/v1/projects", role: admin, handler: (*API).createProject, summary: "Create a project", status: 201, body: typeOf[domain.Project](), resp: typeOf[domain.Project]()},
		{method: "GET", path: projectPath, role: viewer, handler: (*API).getProject, summary: "Get a project", status: 200, resp: typeOf[domain.Project]()},
		{method: "PUT", path: projectPath, role: admin, handler: (*API).updateProject, summary: "Change a project's name and description", status: 200, body: typeOf[domain.Project](), resp: typeOf[domain.Project]()},
		{method: "DELETE", path: projectPath, role: admin, handler: (*API).deleteProject, summary: "Delete a project with everything in it", status: 204, query: forceQuery},

		{method: "GET", path: projectPath + "/environments", role: viewer, handler: (*API).listEnvironments, summary: "List environments", status: 200, resp: typeOf[domain.Environment](), list: true},
		{method: "POST", path: projectPath + "/environments", role: admin, handler: (*API).createEnvironment, summary: "Create an environment; every flag gets a disabled configuration there", status: 201, body: typeOf[domain.Environment](), resp: typeOf[domain.Environment]()},
		{method: "GET", path: envPath, role: viewer, handler: (*API).getEnvironment, summary: "Get an environment", status: 200, resp: typeOf[domain.Environment]()},
		{method: "DELETE", path: envPath, role: admin, handler: (*API).deleteEnvironment, summary: "Delete an environment (refused while it has SDK keys, unless forced)", status: 204, query: forceQuery},

		{method: "GET", path: projectPath + "/flags", role: viewer, handler: (*API).listFlags, summary: "List flags", status: 200, resp: typeOf[domain.Flag](), list: true,
			query: append([]param{{"tag", "string", "only flags with this tag"}, {"q", "string", "only flags whose key, description or owner contains this"}}, pageQuery...)},
		{method: "POST", path: projectPath + "/flags", role: editor, handler: (*API).createFlag, summary: "Create a flag; it starts disabled in every environment", status: 201, body: typeOf[domain.Flag](), resp: typeOf[domain.Flag](), versioned: true},
		{method: "GET", path: flagPath, role: viewer, handler: (*API).getFlag, summary: "Get a flag's definition", status: 200, resp: typeOf[domain.Flag](), versioned: true},
		{method: "PUT", path: flagPath, role: editor, handler: (*API).updateFlag, summary: "Replace a flag's definition", status: 200, body: typeOf[domain.Flag](), resp: typeOf[domain.Flag](), versioned: true},
		{method: "DELETE", path: flagPath, role: editor, handler: (*API).deleteFlag, summary: "Delete a flag (refused while it is another flag's prerequisite)", status: 204},

		{method: "GET", path: configPath, role: viewer, handler: (*API).getFlagConfig, summary: "Get a flag's configuration in an environment", status: 200, resp: typeOf[domain.FlagConfig](), versioned: true},
		{method: "PUT", path: configPath, role: editor, handler: (*API).putFlagConfig, summary: "Replace a flag's configuration in an environment", status: 200, body: typeOf[domain.FlagConfig](), resp: typeOf[domain.FlagConfig](), versioned: true},
		{method: "PATCH", path: configPath, role: editor, handler: (*API).toggleFlag, summary: "Turn a flag on or off in an environment (If-Match optional)", status: 200, body: typeOf[toggleBody](), resp: typeOf[domain.FlagConfig](), versioned: true},

		{method: "GET", path: configPath + "/rollout", role: viewer, handler: (*API).getRollout, summary: "A flag's guarded rollout in an environment, with its latest decisions and their evidence", status: 200, resp: typeOf[service.RolloutView]()},
		{method: "POST", path: configPath + "/rollout", role: editor, handler: (*API).startRollout, summary: "Start a guarded rollout: the autopilot ramps the treatment through the plan's steps, rolling back on a regression", status: 201, body: typeOf[service.RolloutSpec](), resp: typeOf[domain.Rollout]()},
		{method: "POST", path: configPath + "/rollout/pause", role: editor, handler: controlRollout(service.PauseRollout), summary: "Pause a rollout: the autopilot stops deciding until it is resumed", status: 200, resp: typeOf[domain.Rollout]()},
		{method: "POST", path: configPath + "/rollout/resume", role: editor, handler: controlRollout(service.ResumeRollout), summary: "Resume a paused rollout", status: 200, resp: typeOf[domain.Rollout]()},
		{method: "POST", path: configPath + "/rollout/advance", role: editor, handler: controlRollout(service.AdvanceRollout), summary: "Advance a rollout to its next step now", status: 200, resp: typeOf[domain.Rollout]()},
		{method: "POST", path: configPath + "/rollout/abort", role: editor, handler: controlRollout(service.AbortRollout), summary: "Abort a rollout: everyone it reached gets the control again", status: 200, resp: typeOf[domain.Rollout]()},
		{method: "GET", path: configPath + "/metrics", role: viewer, handler: (*API).flagMetrics, summary: "A flag's telemetry in an environment: per variant, points of evaluations, unique units, requests, errors, latency quantiles and a tracked metric, and totals over the range", status: 200, resp: typeOf[analytics.Series](), query: metricsQuery},
		{method: "GET", path: envPath + "/gates", role: viewer, handler: (*API).listGates, summary: "List an environment's release gates", status: 200, resp: typeOf[domain.Gate](), list: true},
		{method: "POST", path: envPath + "/gates", role: editor, handler: (*API).createGate, summary: "Create a release gate: objectives over a flag's telemetry, evaluated when an event arrives", status: 201, body: typeOf[domain.Gate](), resp: typeOf[domain.Gate]()},
		{method: "GET", path: envPath + "/gates/{gate}", role: viewer, handler: (*API).getGate, summary: "Get a release gate with its latest evaluations", status: 200, resp: typeOf[service.GateView]()},
		{method: "DELETE", path: envPath + "/gates/{gate}", role: editor, handler: (*API).deleteGate, summary: "Delete a release gate with its evaluations", status: 204},
		{method: "POST", path: envPath + "/gates/{gate}/evaluate", role: editor, handler: (*API).evaluateGate, summary: "Evaluate a release gate over a time window: pass, warning or fail", status: 200, body: typeOf[timeWindow](), resp: typeOf[domain.GateEvaluation]()},
		{method: "GET", path: envPath + "/correlation", role: viewer, handler: (*API).correlation, summary: "Flags ranked by the evidence that one of their variants carries excess request errors, with the flag changes around the range", status: 200, resp: typeOf[analytics.Report](), query: rangeQuery},
		{method: "GET", path: envPath + "/evaluated", role: viewer, handler: (*API).lastEvaluated, summary: "When each flag was last evaluated in an environment", status: 200, resp: typeOf[analytics.FlagEvaluated](), list: true},

		{method: "GET", path: projectPath + "/segments", role: viewer, handler: (*API).listSegments, summary: "List segments", status: 200, resp: typeOf[domain.Segment](), list: true, query: pageQuery},
		{method: "POST", path: projectPath + "/segments", role: editor, handler: (*API).createSegment, summary: "Create a segment", status: 201, body: typeOf[domain.Segment](), resp: typeOf[domain.Segment](), versioned: true},
		{method: "GET", path: segmentPath, role: viewer, handler: (*API).getSegment, summary: "Get a segment", status: 200, resp: typeOf[domain.Segment](), versioned: true},
		{method: "PUT", path: segmentPath, role: editor, handler: (*API).updateSegment, summary: "Replace a segment", status: 200, body: typeOf[domain.Segment](), resp: typeOf[domain.Segment](), versioned: true},
		{method: "DELETE", path: segmentPath, role: editor, handler: (*API).deleteSegment, summary: "Delete a segment (refused while rules use it)", status: 204},

		{method: "GET", path: envPath + "/keys", role: admin, handler: (*API).listSDKKeys, summary: "List an environment's SDK keys", status: 200, resp: typeOf[domain.SDKKey](), list: true},
		{method: "POST", path: envPath + "/keys", role: admin, handler: (*API).createSDKKey, summary: "Create an SDK key; the secret is shown only in this response", status: 201, body: typeOf[sdkKeyBody](), resp: typeOf[createdSDKKey]()},
		{method: "DELETE", path: envPath + "/keys/{id}", role: admin, handler: (*API).deleteSDKKey, summary: "Delete an SDK key", status: 204},

		{method: "PUT", path: projectPath + "/import", role: editor, handler: (*API).importFlags, summary: "Create or update segments, flags and configurations from a flag file (YAML or JSON), all or nothing", status: 200, body: typeOf[flagfile.Document](), resp: typeOf[service.ImportSummary](), largeBody: true},
		{method: "GET", path: projectPath + "/export", role: viewer, handler: (*API).exportFlags, summary: "Export the project as a flag file", status: 200, resp: typeOf[flagfile.Document](),
			query: []param{{"format", "string", "yaml (default) or json"}}},

		{method: "POST", path: "/api/v1/events", role: editor, handler: (*API).postEvent, summary: "Report an event, such as load_test.finished with its time window: every gate of the environment listening to it is evaluated", status: 200, body: typeOf[service.Event](), resp: typeOf[domain.GateEvaluation](), list: true},
		{method: "GET", path: "/api/v1/audit", role: viewer, handler: (*API).listAudit, summary: "List audit events, newest first", status: 200, resp: typeOf[domain.AuditEvent](), list: true, query: auditQuery},

		{method: "GET", path: "/api/v1/webhooks", role: admin, handler: (*API).listWebhooks, summary: "List webhooks", status: 200, resp: typeOf[domain.Webhook](), list: true},
		{method: "POST", path: "/api/v1/webhooks", role: admin, handler: (*API).createWebhook, summary: "Create a webhook; the signing secret is shown only in this response", status: 201, body: typeOf[service.WebhookSpec](), resp: typeOf[createdWebhook]()},
		{method: "GET", path: "/api/v1/webhooks/{id}", role: admin, handler: (*API).getWebhook, summary: "Get a webhook", status: 200, resp: typeOf[domain.Webhook]()},
		{method: "PUT", path: "/api/v1/webhooks/{id}", role: admin, handler: (*API).updateWebhook, summary: "Replace a webhook's settings", status: 200, body: typeOf[service.WebhookSpec](), resp: typeOf[domain.Webhook]()},
		{method: "DELETE", path: "/api/v1/webhooks/{id}", role: admin, handler: (*API).deleteWebhook, summary: "Delete a webhook", status: 204},
		{method: "GET", path: "/api/v1/webhooks/{id}/deliveries", role: admin, handler: (*API).listDeliveries, summary: "List a webhook's latest deliveries, newest first", status: 200, resp: typeOf[domain.Delivery](), list: true,
			query: []param{{"limit", "integer", "how many, 1 to 1000 (default 100)"}}},

		{method: "GET", path: "/api/v1/tokens", role: admin, handler: (*API).listTokens, summary: "List admin tokens", status: 200, resp: typeOf[domain.Token](), list: true},
		{method: "POST", path: "/api/v1/tokens", role: admin, handler: (*API).createToken, summary: "Create an admin token; the secret is shown only in this response", status: 201, body: typeOf[tokenBody](), resp: typeOf[createdToken]()},
		{method: "GET", path: "/api/v1/tokens/{id}", role: admin, handler: (*API).getToken, summary: "Get an admin token", status: 200, resp: typeOf[domain.Token]()},
		{method: "DELETE", path: "/api/v1/tokens/{id}", role: admin, handler: (*API).deleteToken, summary: "Delete an admin token and end the dashboard sessions it started", status: 204},

		{method: "GET", path: "/api/v1/users", role: admin, handler: (*API).listUsers, summary: "List dashboard users", status: 200, resp: typeOf[domain.User](), list: true},
		{method: "POST", path: "/api/v1/users", role: admin, handler: (*API).createUser, summary: "Create a dashboard user, who signs in with an e-mail address and a password of 10 to 72 bytes", status: 201, body: typeOf[service.UserSpec](), resp: typeOf[domain.User]()},
		{method: "GET", path: userPath, role: admin, handler: (*API).getUser, summary: "Get a dashboard user", status: 200, resp: typeOf[domain.User]()},
		{method: "PUT", path: userPath, role: admin, handler: (*API).updateUser, summary: "Change a dashboard user's name or role; a new role applies to its sessions at once", status: 200, body: typeOf[userUpdate](), resp: typeOf[domain.User]()},
		{method: "DELETE", path: userPath, role: admin, handler: (*API).deleteUser, summary: "Delete a dashboard user and end its sessions", status: 204},
		{method: "PUT", path: userPath + "/password", role: admin, handler: (*API).setPassword, summary: "Set a dashboard user's password and end its sessions", status: 204, body: typeOf[passwordBody]()},
	}
}

var auditQuery = []param{
	{"project", "string", "only events of this project"},
	{"environment", "string", "only events of this environment"},
	{"resourceType", "string", "only events about this kind of resource (project, environment, flag, segment, sdk_key, token, user, webhook)"},
	{"resourceKey", "string", "only events about the resource with this key"},
	{"actorKind", "string", "only events by this kind of actor (token, user, autopilot, system)"},
	{"actorId", "string", "only events by this actor"},
	{"since", "string", "only events at or after this RFC 3339 time"},
	{"until", "string", "only events before this RFC 3339 time"},
	{"limit", "integer", "page size, 1 to 1000 (default 100)"},
	{"after", "string", "the next cursor of the previous page"},
}
