//! The device row: the session's own keys and identity.

use whatsapp_rust::wacore::store::Device;
use whatsapp_rust::wacore::store::error::Result;
use whatsapp_rust::wacore::store::traits::DeviceStore;

use super::{SessionStore, space};

/// The only device row of a session.
const DEVICE_KEY: &str = "";

#[whatsapp_rust::async_trait]
impl DeviceStore for SessionStore {
    async fn save(&self, device: &Device) -> Result<()> {
        self.put_json(space::DEVICE, DEVICE_KEY, device).await
    }

    async fn load(&self) -> Result<Option<Device>> {
        self.get_json(space::DEVICE, DEVICE_KEY).await
    }

    async fn exists(&self) -> Result<bool> {
        SessionStore::exists(self, space::DEVICE, DEVICE_KEY).await
    }

    async fn create(&self) -> Result<i32> {
        // One device per session: its number is always 1.
        self.save(&Device::new()).await?;
        Ok(1)
    }
}
