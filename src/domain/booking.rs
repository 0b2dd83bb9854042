//! Where a booking stands.

text_enum! {
    /// `bookings.status`: booked until cancelled (a cancelled booking is
    /// kept, and frees its slot).
    pub enum BookingStatus {
        Booked = "booked",
        Cancelled = "cancelled",
    }
}

impl BookingStatus {
    pub fn is_booked(self) -> bool {
        self == BookingStatus::Booked
    }

    pub fn is_cancelled(self) -> bool {
        self == BookingStatus::Cancelled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    text_enum_tests!(BookingStatus);
}
