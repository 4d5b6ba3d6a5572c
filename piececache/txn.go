package piececache

import (
	"errors"

	"github.com/dgraph-io/badger/v4"
)

// splitTxn writes keys in as few Badger transactions as Badger allows:
// when one is full (ErrTxnTooBig) it is committed and a new one started.
// A failure leaves what was committed before it in place. Only the writer
// goroutine uses one.
type splitTxn struct {
	db  *badger.DB
	txn *badger.Txn
}

func newSplitTxn(db *badger.DB) *splitTxn {
	return &splitTxn{db: db, txn: db.NewTransaction(true)}
}

// set writes key.
func (s *splitTxn) set(key, val []byte) error {
	return s.do(func(txn *badger.Txn) error { return txn.Set(key, val) })
}

// delete deletes key.
func (s *splitTxn) delete(key []byte) error {
	return s.do(func(txn *badger.Txn) error { return txn.Delete(key) })
}

func (s *splitTxn) do(op func(*badger.Txn) error) error {
	err := op(s.txn)
	if errors.Is(err, badger.ErrTxnTooBig) {
		if err := s.txn.Commit(); err != nil {
			return err
		}
		s.txn = s.db.NewTransaction(true)
		err = op(s.txn)
	}
	return err
}

// commit commits the last transaction.
func (s *splitTxn) commit() error { return s.txn.Commit() }

// discard ends the last transaction if commit was not called; it is safe
// after commit.
func (s *splitTxn) discard() { s.txn.Discard() }
