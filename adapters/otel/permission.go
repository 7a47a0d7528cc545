package oryotel

import (
	"context"

	"github.com/oryguard/oryguard/core"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
)

// Metric names of permission checks (core.Permit; stable).
const (
	MetricPermissionChecks       = "oryguard.permission.checks"
	MetricPermissionDuration     = "oryguard.permission.duration"
	MetricPermissionCacheEntries = "oryguard.permission.cache.entries"
)

// Attribute keys of the permission metrics.
const (
	// PermissionNamespaceKey and PermissionRelationKey are the Permit's
	// namespace and relation.
	PermissionNamespaceKey = attribute.Key("oryguard.permission.namespace")
	PermissionRelationKey  = attribute.Key("oryguard.permission.relation")
	// PermissionResultKey is allowed, denied, error or canceled
	// (core.PermissionResult.String).
	PermissionResultKey = attribute.Key("oryguard.permission.result")
	// PermissionCachedKey is true when the permission cache answered.
	PermissionCachedKey = attribute.Key("oryguard.permission.cached")
	// PermissionBatchKey is true when the check went in a batch call.
	PermissionBatchKey = attribute.Key("oryguard.permission.batch")
	// PermissionObjectKey is the checked object, only with
	// WithPermissionObjects (and core.PermissionsConfig.ObserveObjects).
	PermissionObjectKey = attribute.Key("oryguard.permission.object")
)

var _ core.PermissionObserver = (*Observer)(nil)

// WithPermissionObjects labels the permission metrics with the checked
// object (oryguard.permission.object) when the guard hands it over
// (core.PermissionsConfig.ObserveObjects). Off by default: object IDs can
// be personal data, and one label value per object makes a metric's
// series grow without bound.
func WithPermissionObjects() Option {
	return optionFunc(func(c *config) { c.objects = true })
}

// permLabel is a label set of the permission metrics without the object.
type permLabel struct {
	namespace, relation string
	result              core.PermissionResult
	cached, batch       bool
	status              int
}

// initPermissions creates the permission instruments.
func (o *Observer) initPermissions(meter metric.Meter) {
	var err error
	if o.permChecks, err = meter.Int64Counter(MetricPermissionChecks,
		metric.WithDescription("Permission checks (Permit), by namespace, relation, result and whether the cache answered."),
		metric.WithUnit("{check}")); err != nil {
		otel.Handle(err)
		o.permChecks, _ = noop.Meter{}.Int64Counter(MetricPermissionChecks)
	}
	if o.permDuration, err = meter.Float64Histogram(MetricPermissionDuration,
		metric.WithDescription("Duration of the calls to Ory Permissions, per checked tuple (a batch call's duration counts once for each of its tuples)."),
		metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(whoamiBuckets...)); err != nil {
		otel.Handle(err)
		o.permDuration, _ = noop.Meter{}.Float64Histogram(MetricPermissionDuration)
	}
	if _, err = meter.Int64ObservableGauge(MetricPermissionCacheEntries,
		metric.WithDescription("Allowed answers held in the guards' permission caches."),
		metric.WithUnit("{answer}"),
		metric.WithInt64Callback(func(_ context.Context, obs metric.Int64Observer) error {
			obs.Observe(int64(o.sumGuards((*core.Guard).PermissionCacheEntries)))
			return nil
		})); err != nil {
		otel.Handle(err)
	}
}

// PermissionCheck implements core.PermissionObserver: it counts the check
// and, when Ory Permissions was asked, records the call's duration.
func (o *Observer) PermissionCheck(ctx context.Context, c core.PermissionCheck) {
	set := o.permSet(c)
	o.permChecks.Add(ctx, 1, metric.WithAttributeSet(set))
	if !c.Cached {
		o.permDuration.Record(ctx, c.Duration.Seconds(), metric.WithAttributeSet(set))
	}
}

// permSet returns the attribute set of a check, built once per label set
// unless it carries the object.
func (o *Observer) permSet(c core.PermissionCheck) attribute.Set {
	l := permLabel{c.Namespace, c.Relation, c.Result, c.Cached, c.Batch > 1, c.Status}
	withObject := o.objects && c.Object != ""
	if !withObject {
		if v, ok := o.permSets.Load(l); ok {
			return v.(attribute.Set)
		}
	}
	attrs := []attribute.KeyValue{
		PermissionNamespaceKey.String(c.Namespace),
		PermissionRelationKey.String(c.Relation),
		PermissionResultKey.String(c.Result.String()),
		PermissionCachedKey.Bool(c.Cached),
		PermissionBatchKey.Bool(c.Batch > 1),
	}
	if c.Status > 0 {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(c.Status))
	}
	if withObject {
		return attribute.NewSet(append(attrs, PermissionObjectKey.String(c.Object))...)
	}
	set := attribute.NewSet(attrs...)
	v, _ := o.permSets.LoadOrStore(l, set)
	return v.(attribute.Set)
}
