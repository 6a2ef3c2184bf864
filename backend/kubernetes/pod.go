package kubernetes

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/bottle-dev/bottle/backend"
)

// Names of the Pod's containers and volumes, and the annotations the
// backend keeps on it.
const (
	agentContainer  = "agent"
	statusContainer = "bottle"
	gateVolume      = "bottle-gate"
	gateDir         = "/run/bottle-gate"
	// mountsDir is where the status container sees every mount read-write,
	// so that read-only mounts can be filled and read-write ones read back.
	mountsDir = "/run/bottle-mounts"
	// annoLabels holds every label of the bottle as JSON: Kubernetes label
	// values are restricted, bottle's are not.
	annoLabels = "dev.bottle/labels"
	// annoMounts holds the spec's mounts as JSON, for syncing them.
	annoMounts = "dev.bottle/mounts"
	// annoStarted marks a Pod whose gate was released.
	annoStarted = "dev.bottle/started"
)

// labelsFor is every label of a spec's bottle, the fixed ones last so that
// spec.Labels cannot override them.
func labelsFor(spec backend.Spec) map[string]string {
	l := maps.Clone(spec.Labels)
	if l == nil {
		l = map[string]string{}
	}
	l[backend.LabelManaged] = "true"
	l[backend.LabelIdentity] = spec.Identity
	l[backend.LabelBottle] = spec.Bottle
	l[backend.LabelAgent] = spec.Agent
	return l
}

// kubeLabels keeps the labels Kubernetes accepts (the rest stay in the
// annoLabels annotation), so that selectors and other tools see them.
func kubeLabels(l map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range l {
		if len(validation.IsQualifiedName(k)) == 0 && len(validation.IsValidLabelValue(v)) == 0 {
			out[k] = v
		}
	}
	return out
}

// podFor builds the Pod of spec; image is the reference the cluster pulls.
func podFor(spec backend.Spec, image string) (*corev1.Pod, error) {
	labels := labelsFor(spec)
	all, err := json.Marshal(labels)
	if err != nil {
		return nil, err
	}
	mounts, err := json.Marshal(spec.Mounts)
	if err != nil {
		return nil, err
	}
	sc, err := securityContext(spec.User)
	if err != nil {
		return nil, err
	}
	env := make([]corev1.EnvVar, 0, len(spec.Env))
	for _, kv := range spec.Env {
		k, v, _ := strings.Cut(kv, "=")
		env = append(env, corev1.EnvVar{Name: k, Value: v})
	}
	res := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	if spec.CPUs > 0 {
		q := resource.NewMilliQuantity(int64(spec.CPUs*1000), resource.DecimalSI)
		res.Requests[corev1.ResourceCPU], res.Limits[corev1.ResourceCPU] = *q, *q
	}
	if spec.MemoryBytes > 0 {
		q := resource.NewQuantity(spec.MemoryBytes, resource.BinarySI)
		res.Requests[corev1.ResourceMemory], res.Limits[corev1.ResourceMemory] = *q, *q
	}
	gate := corev1.VolumeMount{Name: gateVolume, MountPath: gateDir}
	agentMounts := []corev1.VolumeMount{gate}
	statusMounts := []corev1.VolumeMount{gate}
	volumes := []corev1.Volume{{Name: gateVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	for i, m := range spec.Mounts {
		// A mount inside another (the queue inside /run/bottle) is a
		// folder of the outer one's volume: the kubelet makes that folder
		// before the container starts, so the mount point exists even
		// when the outer mount is read-only.
		name, sub := "mount-"+strconv.Itoa(i), ""
		if j, rel := enclosing(spec.Mounts, i); j >= 0 {
			name, sub = "mount-"+strconv.Itoa(j), rel
		} else {
			volumes = append(volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		}
		agentMounts = append(agentMounts, corev1.VolumeMount{Name: name, MountPath: m.Target, ReadOnly: m.ReadOnly, SubPath: sub})
		statusMounts = append(statusMounts, corev1.VolumeMount{Name: name, MountPath: mountDir(i), SubPath: sub})
	}
	small := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")}
	no := false
	grace := int64(5)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name:   backend.InstanceName(spec.Identity),
			Labels: kubeLabels(labels),
			Annotations: map[string]string{
				annoLabels: string(all),
				annoMounts: string(mounts),
			},
		},
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyNever,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			TerminationGracePeriodSeconds: &grace,
			Volumes:                       volumes,
			Containers: []corev1.Container{{
				Name:            agentContainer,
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         append([]string{"/bin/sh", "-c", gateSh, "bottle-gate"}, spec.Command...),
				Env:             env,
				WorkingDir:      spec.Workdir,
				Resources:       res,
				SecurityContext: sc,
				VolumeMounts:    agentMounts,
				// Stdin is always open: Run's attach closes it (StdinOnce)
				// when the caller's input ends, and a detached start
				// replaces it with /dev/null.
				Stdin:     true,
				StdinOnce: true,
				TTY:       spec.TTY,
			}, {
				Name:            statusContainer,
				Image:           image,
				ImagePullPolicy: corev1.PullIfNotPresent,
				Command:         []string{"/bin/sh", "-c", statusSh},
				SecurityContext: sc,
				VolumeMounts:    statusMounts,
				Resources:       corev1.ResourceRequirements{Requests: small},
			}},
		},
	}, nil
}

func mountDir(i int) string { return mountsDir + "/" + strconv.Itoa(i) }

// enclosing returns the outermost other mount whose target holds the
// target of mounts[i], and the path of that target below it; -1 for none.
func enclosing(mounts []backend.Mount, i int) (int, string) {
	best, rel := -1, ""
	for j, m := range mounts {
		if j == i {
			continue
		}
		r, ok := strings.CutPrefix(path.Clean(mounts[i].Target), strings.TrimSuffix(path.Clean(m.Target), "/")+"/")
		if !ok || r == "" {
			continue
		}
		if best < 0 || len(m.Target) < len(mounts[best].Target) {
			best, rel = j, r
		}
	}
	return best, rel
}

// securityContext turns a Docker-style user ("UID" or "UID:GID") into the
// Pod's. Kubernetes takes numbers only: a name cannot be resolved without
// the image, so it is an error that says so.
func securityContext(user string) (*corev1.SecurityContext, error) {
	if user == "" {
		return nil, nil
	}
	u, g, hasGroup := strings.Cut(user, ":")
	uid, err := strconv.ParseInt(u, 10, 64)
	if err != nil || uid < 0 {
		return nil, fmt.Errorf("user %q: the kubernetes backend needs a numeric UID (or UID:GID), since Pods cannot name users", user)
	}
	sc := &corev1.SecurityContext{RunAsUser: &uid}
	if hasGroup {
		gid, err := strconv.ParseInt(g, 10, 64)
		if err != nil || gid < 0 {
			return nil, fmt.Errorf("user %q: the kubernetes backend needs a numeric GID", user)
		}
		sc.RunAsGroup = &gid
	}
	return sc, nil
}

// policyFor is the NetworkPolicy of spec's bottle: no ingress from other
// bottles (every other Pod may connect), and no egress at all when the
// bottle has no network. Enforced only by a CNI that implements
// NetworkPolicy (Calico, Cilium, ...); the bridge CNI of scripts/kube-up
// accepts it and enforces nothing.
func policyFor(spec backend.Spec) *networkingv1.NetworkPolicy {
	labels := labelsFor(spec)
	p := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{
			Name:        backend.InstanceName(spec.Identity),
			Labels:      kubeLabels(labels),
			Annotations: map[string]string{annoLabels: mustJSON(labels)},
		},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{backend.LabelIdentity: spec.Identity}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: &metav1.LabelSelector{},
					PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
						Key: backend.LabelManaged, Operator: metav1.LabelSelectorOpDoesNotExist,
					}}},
				}},
			}},
		},
	}
	if !spec.Network {
		p.Spec.PolicyTypes = append(p.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	}
	return p
}

func mustJSON(v map[string]string) string {
	b, _ := json.Marshal(v) // a map of strings always marshals
	return string(b)
}

// labelsOf reads back the labels a Pod or policy was created with.
func labelsOf(meta metav1.ObjectMeta) map[string]string {
	var l map[string]string
	if err := json.Unmarshal([]byte(meta.Annotations[annoLabels]), &l); err != nil || l == nil {
		return maps.Clone(meta.Labels)
	}
	return l
}

// mountsOf reads back the mounts a Pod was created with.
func mountsOf(p *corev1.Pod) []backend.Mount {
	var m []backend.Mount
	_ = json.Unmarshal([]byte(p.Annotations[annoMounts]), &m) // absent: none
	return m
}
