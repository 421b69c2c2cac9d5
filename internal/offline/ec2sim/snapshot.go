package ec2sim

import "github.com/mirrorflow/mirrorflow/internal/snapshot"

// Snapshot returns a deep copy of the account as the simulator holds it now:
// the seed plus every change the calls made (sessions created, tags added),
// with the seed's Config. It exists so that an offline run can be saved and
// a later run seeded from its end, as a real account keeps yesterday's
// sessions. The copy is taken under the lock, so it is one consistent state
// even while placements run, and changing it never changes the simulator.
func (s *Sim) Snapshot() *snapshot.Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state.Clone()
}
