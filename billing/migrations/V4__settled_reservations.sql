-- A completed order's money is spent: the mediator settles its reservation
-- (`settled`), so what is still `granted` is the money held for unfinished
-- orders, which a refund may give back. A deposit keeps wallet + that held
-- money under the wallet ceiling, so a refund always fits.
ALTER TABLE reservations DROP CONSTRAINT reservations_state_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_state_check
    CHECK (state IN ('granted', 'refused', 'released', 'tombstone', 'settled'));
CREATE INDEX reservations_held ON reservations (username) WHERE state = 'granted';
